"""django-cookie-consent's own URLs under /cookies/, their views wrapped in csrf_exempt.

The package's accept and decline views are CSRF-protected (a browser first fetches a token from
its status view). The benchmark exempts them so that wrk can POST without a token round trip:
it compares the write path, not CSRF. Everything else is the package's own view code.
"""

from cookie_consent.urls import urlpatterns as cookie_consent_urls
from django.urls import URLPattern, include, path
from django.views.decorators.csrf import csrf_exempt

exempt: list[URLPattern] = [
    path(str(pattern.pattern), csrf_exempt(pattern.callback), name=pattern.name)
    for pattern in cookie_consent_urls
]

urlpatterns = [path("cookies/", include(exempt))]
