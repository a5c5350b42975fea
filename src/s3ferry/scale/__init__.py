"""Scale-out: shards of a migration run on local worker processes or on a Dask cluster.

Engine-neutral: a shard (core.shards.ShardSpec) is executed by one plain function
(runner.run_shard) that any engine can call in any process; an engine only submits it and
hands back a concurrent future. local.py and dask.py are the two engines.
"""
