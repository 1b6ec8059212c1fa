"""A minimal Django project serving django-cookie-consent, the benchmark's peer (bench only).

consent_bench.py runs it under the same gunicorn settings as Zgoda and POSTs a choice to the
package's own accept view; the package's consent log (COOKIE_CONSENT_LOG_ENABLED) writes one
LogItem row per POST, the durable write compared with Zgoda's.
"""
