"""HTML pages of a run, a capacity search and a comparison: Jinja2 templates (templates/) and
matplotlib charts as inline SVG (charts.py). Each page is one file that opens offline."""
