"""`ocis orchestrate check`: a temp deployment, a workload, and seeded faults it must survive."""
