r"""Serves exported AVE SavedModels over gRPC: a stand-in for tensorflow_model_server.

Serves the newest version under --model_base_path (or every model of a --model_config_file) and
picks up new versions without a restart. Clients speak the TF-Serving PredictionService and
ModelService protocol (Predict, Classify, GetModelMetadata, GetModelStatus) over gRPC, and TF
Serving's REST API (status, metadata, predict, classify) on --rest_api_port.

Example:

  ave_serve --model_base_path=export/ave --port=8500 --rest_api_port=8501
  ave_serve --model_config_file=export/ave/models.config --port=0   # prints the chosen port:
  # ave_serve: serving ave on port 40997; listening on 127.0.0.1:40997
"""

import os
import signal
import sys
import threading

from absl import app, flags, logging

from ave_tf.utils.cli import run_main

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model_base_path", None, "Folder of integer version folders to serve.")
    flags.DEFINE_string("model_name", "ave", "Model name clients ask for (with --model_base_path).")
    flags.DEFINE_string(
        "model_config_file",
        None,
        "TF-Serving models.config (model_config_list) for several models.",
    )
    flags.DEFINE_string(
        "host", "127.0.0.1", "Address to listen on (loopback by default; 0.0.0.0 for every one)."
    )
    flags.DEFINE_integer("port", 8500, "gRPC port; 0 picks a free port and prints it.")
    flags.DEFINE_integer(
        "rest_api_port", 0, "Port of TF Serving's REST API (HTTP/JSON); 0 = no REST API."
    )
    flags.DEFINE_integer("rest_api_num_threads", 16, "REST requests that run a model at once.")
    flags.DEFINE_integer(
        "rest_api_timeout_in_ms", 30000, "REST socket timeout: idle or stalled clients are closed."
    )
    flags.DEFINE_float(
        "file_system_poll_wait_seconds", 1.0, "Seconds between polls for new versions; 0 = never."
    )
    flags.DEFINE_integer("grpc_max_threads", 16, "Requests handled in parallel.")
    flags.DEFINE_integer(
        "max_message_mb", 256, "Largest request/response in MiB (64 videos are ~64 MiB)."
    )
    flags.DEFINE_integer(
        "max_input_mb",
        256,
        "Largest total input a request may declare, in MiB (shape x dtype size), checked "
        "before any tensor is built.",
    )
    flags.DEFINE_integer(
        "max_num_load_retries",
        5,
        "Timed retries of a version that failed to load and has not changed (a changed "
        "version folder is always tried again).",
    )
    flags.DEFINE_integer(
        "load_retry_interval_micros", 60_000_000, "Microseconds between those timed retries."
    )
    flags.DEFINE_bool(
        "enable_model_warmup", True, "Replay assets.extra/tf_serving_warmup_requests on load."
    )
    flags.DEFINE_float("shutdown_grace_seconds", 5.0, "Time in-flight requests get on SIGTERM.")


def _fail(message: str) -> None:
    from ave_tf.utils.cli import fail

    fail(message)


def _sources():
    from ave_tf.export.serving_config import ServingConfigError
    from ave_tf.serving.model_registry import ModelSource, sources_from_config_file

    if bool(FLAGS.model_base_path) == bool(FLAGS.model_config_file):
        raise app.UsageError("pass exactly one of --model_base_path and --model_config_file")
    if FLAGS.model_config_file:
        try:
            sources = sources_from_config_file(FLAGS.model_config_file)
        except ServingConfigError as e:
            _fail(str(e))
        flag = "--model_config_file"
    else:
        sources = [ModelSource(name=FLAGS.model_name, base_path=FLAGS.model_base_path)]
        flag = "--model_base_path"
    for source in sources:
        if not os.path.isdir(source.base_path):
            _fail(f"{flag}: base path {source.base_path} of model '{source.name}' does not exist")
    return sources


def _rest_server(registry):
    from ave_tf.serving.rest_api import RestApi
    from ave_tf.serving.rest_server import RestServer

    try:
        return RestServer(
            RestApi(registry, max_input_bytes=FLAGS.max_input_mb << 20),
            host=FLAGS.host,
            port=FLAGS.rest_api_port,
            num_threads=FLAGS.rest_api_num_threads,
            timeout_seconds=FLAGS.rest_api_timeout_in_ms / 1000,
            max_body_bytes=FLAGS.max_message_mb << 20,
        )
    except OSError as e:
        _fail(f"--rest_api_port={FLAGS.rest_api_port}: cannot listen on {FLAGS.host}: {e.strerror}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for flag in ("port", "rest_api_port"):
        if not 0 <= FLAGS[flag].value <= 65535:
            raise app.UsageError(f"--{flag} must lie in [0, 65535], got {FLAGS[flag].value}")
    for flag in ("max_message_mb", "max_input_mb", "rest_api_num_threads", "grpc_max_threads"):
        if FLAGS[flag].value < 1:
            raise app.UsageError(f"--{flag} must be at least 1, got {FLAGS[flag].value}")
    sources = _sources()

    from ave_tf.serving.model_registry import ModelRegistry
    from ave_tf.serving.server import ServerStartError, create_server

    registry = ModelRegistry(
        sources,
        warmup=FLAGS.enable_model_warmup,
        max_load_retries=max(0, FLAGS.max_num_load_retries),
        load_retry_interval=max(0, FLAGS.load_retry_interval_micros) / 1e6,
    )
    registry.poll()
    try:
        server, port = create_server(
            registry,
            host=FLAGS.host,
            port=FLAGS.port,
            max_workers=FLAGS.grpc_max_threads,
            max_message_bytes=FLAGS.max_message_mb << 20,
            max_input_bytes=FLAGS.max_input_mb << 20,
        )
    except ServerStartError as e:
        _fail(f"--port={FLAGS.port}: {e}")
    rest = _rest_server(registry) if FLAGS.rest_api_port else None
    server.start()
    if rest is not None:
        rest.start()
    registry.start(FLAGS.file_system_poll_wait_seconds)
    for source in sources:
        served = registry.available_versions(source.name)
        logging.info(
            "model %s: versions %s under %s", source.name, served or "none yet", source.base_path
        )
    # One line for scripts: the port after "port", the gRPC address as the last word.
    names = ", ".join(source.name for source in sources)
    rest_note = f" (REST API on port {rest.port})" if rest is not None else ""
    print(
        f"ave_serve: serving {names} on port {port}{rest_note}; listening on {FLAGS.host}:{port}",
        flush=True,
    )

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    logging.info("shutting down")
    if rest is not None:
        rest.stop()
    server.stop(grace=FLAGS.shutdown_grace_seconds).wait()
    registry.stop()
    sys.stdout.flush()


def run():
    define_flags()
    run_main(main, default_verbosity=0)  # a server logs what it loads and serves


if __name__ == "__main__":
    run()
