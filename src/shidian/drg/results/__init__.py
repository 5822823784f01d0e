"""Reading a run's result files (结算结果): summaries, a hospital's cases, one case (cached)."""
