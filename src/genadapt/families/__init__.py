"""Model families as plug-ins: a registry from a family name to its package (params and one module per stage verb).

A family lives in ``genadapt/families/<name>/`` and holds everything specific to it: its params
(``params.py``: defaults, ranges, cross-checks), networks, training loop, and one module per
stage verb (``train.py``, ``generate.py``, ``evaluate.py``, ``report.py``; what several verbs
share in ``stored.py``), the entry points the DVC stages call. ``params.yaml`` names instances under ``models.<family>``;
``dvc.yaml`` runs train/generate/evaluate for each with ``foreach``, and each stage depends on exactly
the project files it imports, nothing else (tests/test_pipeline_e2e.py proves it).

Adding a family: a new package here, its name in ``genadapt.core.registry.FAMILIES``, a ``models.<name>`` entry in
params.yaml and its foreach block in dvc.yaml (the stages differ in the inputs they take).
"""
