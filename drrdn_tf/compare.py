"""`python -m drrdn_tf.compare`: runs the compare command line, drrdn_tf/cli/compare.py, as the main module (so
its flags and its help are the command's)."""

import runpy

if __name__ == "__main__":
    runpy.run_module("drrdn_tf.cli.compare", run_name="__main__", alter_sys=True)
