"""Grade a whole class: find submissions, grade them in parallel and resumably, summarise.

``discover`` finds one submission per student, ``run`` grades them into per-student folders
(``results.json`` last, as the commit marker), ``gradebook`` rebuilds ``gradebook.csv`` from
those folders, and ``classreport`` draws the class report.
"""
