"""Which worker of a multi-worker run this process is, and where it may write.

`tf.distribute.MultiWorkerMirroredStrategy` runs the same program on every worker; `TF_CONFIG`
names the cluster and this worker. Every worker takes part in each step (the gradients and the
loss's example count are all-reduced) and in each save, but only the chief's files are the
run: the others write into a temporary directory deleted at the end, as TensorFlow's
multi-worker guide prescribes (two writers of one file corrupt it, e.g. HDF5's lock fails).
Every worker restores the chief's checkpoint, so `model_dir` must be reachable from all of
them (`gs://`, a shared mount), like `data_dir`.
"""

import contextlib
import dataclasses
import shutil
import tempfile

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process in its cluster; (None, 0, 1) outside a multi-worker run."""

    task_type: str | None = None
    task_id: int = 0
    num_workers: int = 1
    is_chief: bool = True


def worker_role(strategy_name: str) -> WorkerRole:
    """The role TF_CONFIG gives this process when training with `strategy_name`."""
    if strategy_name != "multi_worker":
        return WorkerRole()
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    cluster = resolver.cluster_spec().as_dict()
    if not cluster:  # no TF_CONFIG: MultiWorkerMirroredStrategy trains on this machine alone
        return WorkerRole()
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    # TensorFlow's rule: a "chief" task if the cluster has one, else worker 0.
    is_chief = task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in cluster
    )
    workers = sum(len(cluster.get(kind, ())) for kind in ("chief", "worker"))
    return WorkerRole(task_type, task_id, workers, is_chief)


@contextlib.contextmanager
def write_dir(model_dir: str, role: WorkerRole):
    """`model_dir` for the chief; a local temporary directory, removed afterwards, for the
    other workers (they save like the chief, but their copies are thrown away)."""
    if role.is_chief:
        yield model_dir
        return
    directory = tempfile.mkdtemp(prefix=f"ave-{role.task_type}-{role.task_id}-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def barrier(strategy: tf.distribute.Strategy, role: WorkerRole) -> None:
    """Returns once every worker got here (one all-reduce of a scalar); at once when alone.

    The chief prepares `model_dir` (refuses or overwrites a run, rewrites params.yaml) before
    the others read its checkpoint.
    """
    if role.num_workers > 1:
        ones = strategy.run(tf.function(lambda: tf.ones([])))
        strategy.reduce(tf.distribute.ReduceOp.SUM, ones, axis=None).numpy()
