"""Program generators: the directed regression, constrained-random programs, the
co-simulation benchmark and the K-FAC factor solve."""
