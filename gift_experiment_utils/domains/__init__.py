"""The experiment domains: one package (or module) each, whose top level sets `TASK` (see `..task`).

    language_modeling   commonsense and arithmetic reasoning, GSM8K, instruction tuning (causal LMs)
    glue                GLUE with RoBERTa (sequence classification)
    vision              FGVC (`vision.fgvc`) and VTAB-1k (`vision.vtab`) with timm ViTs
    toy                 generated sequences and a tiny BERT, for tests and smoke runs

`experiment.domain: <name>` picks one; the engine (everything outside this package) knows none of them.
"""
