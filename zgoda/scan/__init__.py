"""The cookie scanner: what a website really stores and sends, held against its notice.

Modules, in the order a scan uses them: `browser` and `network` (one page in one state, in
Chromium), `crawl` (the pages and states), `observations` (what was seen), `classify` (the
tracker database), `findings` (against the notice), `patch` (the YAML notice patch),
`storage` (scans kept per site), `report` (the whole scan, for the command line).
"""
