"""`python -m drrdn_tf.train`: the train command line, kept at this name; it lives in drrdn_tf/cli/train.py."""

from drrdn_tf.cli.train import run

if __name__ == "__main__":
    run()
