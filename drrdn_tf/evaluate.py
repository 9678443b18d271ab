"""`python -m drrdn_tf.evaluate`: runs the evaluate command line, drrdn_tf/cli/evaluate.py, as the main module (so its
flags and its help are the command's, as when it lived here)."""

import runpy

if __name__ == "__main__":
    runpy.run_module("drrdn_tf.cli.evaluate", run_name="__main__", alter_sys=True)
