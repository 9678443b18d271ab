"""`python -m drrdn_tf.evaluate`: the evaluate command line, kept at this name; it lives in drrdn_tf/cli/evaluate.py."""

from drrdn_tf.cli.evaluate import run

if __name__ == "__main__":
    run()
