"""What (nearly) every stage uses: the stage wrapper (``cli``), errors, params, atomic outputs,
the runtime (device, precision, progress), MLflow tracking and saved weights. One folder, so a
stage's DVC deps name it once."""
