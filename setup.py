"""Installs drrdn_tf (with the embedded MNIST demo set) and its console scripts."""

from setuptools import find_packages, setup

setup(
    name="drrdn_tf",
    version="0.1.0",
    description="Adversarially robust classifiers with DRRDN (AAAI 2021) in TensorFlow 2 / Keras 3",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["drrdn_tf", "drrdn_tf.*"]),
    package_data={"drrdn_tf": ["assets/*.npz", "assets/*.md"]},
    install_requires=[
        "tensorflow-cpu>=2.16; platform_machine=='x86_64' and sys_platform=='linux'",
        "tensorflow>=2.16; platform_machine!='x86_64' or sys_platform!='linux'",
        "keras>=3.3",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets needs it to download
        "numpy",
        "absl-py",
    ],
    extras_require={"test": ["pytest", "pytest-xdist"], "plot": ["matplotlib"], "tensorboard": ["tensorboard"],
                    "analysis": ["scikit-learn", "matplotlib"]},
    entry_points={"console_scripts": ["drrdn-train=drrdn_tf.cli.train:run", "drrdn-evaluate=drrdn_tf.cli.evaluate:run",
                                      "drrdn-plot=drrdn_tf.cli.plot:run", "drrdn-compare=drrdn_tf.cli.compare:run"]},
)
