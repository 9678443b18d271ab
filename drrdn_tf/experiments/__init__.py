"""Studies that anyone can rerun: each module is a command (`python -m drrdn_tf.experiments.<name>`) that trains
its run folders (resumably), evaluates them and writes its tables and figures."""
