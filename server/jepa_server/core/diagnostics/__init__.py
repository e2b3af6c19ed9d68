"""Index diagnostics (`AnalyzeIndex`): what a collection's representation space holds."""
