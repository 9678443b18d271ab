"""The command lines: `train`, `evaluate`, `plot` (run as `python -m drrdn_tf.<name>`), and what they share
(`common`)."""
