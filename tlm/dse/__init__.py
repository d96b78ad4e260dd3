"""Design-space exploration: `tlmsim sweep` over arch points and workloads on Dask.

`spec` parses the sweep file, `points` generates design points, `store`
keeps results resumable on disk, `runner` runs them on a Dask cluster,
`pareto` and `report` summarise them. Nothing here is imported by `tlmsim
sim`: the heavy dependencies (dask, pandas, pyarrow, optuna) load only here.
"""
