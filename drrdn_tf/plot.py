"""`python -m drrdn_tf.plot`: the plot command line, kept at this name; it lives in drrdn_tf/cli/plot.py."""

from drrdn_tf.cli.plot import run

if __name__ == "__main__":
    run()
