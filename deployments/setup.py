"""Set up a Prefect server for prefect-virustotal (same as ``prefect-virustotal setup``).

Run it against a running server (``PREFECT_API_URL`` set)::

    VT_API_KEY=... python deployments/setup.py --requests-per-minute 4

See ``prefect_virustotal.cli.setup_main`` for what it does; ``--help`` lists the options.
"""

from prefect_virustotal.cli import setup_main

if __name__ == "__main__":
    raise SystemExit(setup_main())
