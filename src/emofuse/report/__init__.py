"""Tables and plots for papers: confusion heatmaps, PCA, deltas, grids, timelines, report.html."""
