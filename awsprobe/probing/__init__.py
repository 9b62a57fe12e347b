"""Probe-running: how the selected dry runs are sent, paced, retried and gathered.

One concern, several single-purpose modules (botocore's ``retries/`` is the model);
each looks only down the list:

* :mod:`~awsprobe.probing.options` -- the options of a run (:class:`RunOptions`), its
  limits and the one check of ``workers`` and ``processes``;
* :mod:`~awsprobe.probing.tasks` -- what to probe: catalog entries x regions (x real ids);
* :mod:`~awsprobe.probing.regions` -- region names: the session's, a list, or every
  enabled one;
* :mod:`~awsprobe.probing.pacing` -- AWS's token buckets per action and the
  :class:`Pacer` that keeps within them (its clock injectable);
* :mod:`~awsprobe.probing.retry` -- what is retried (the classifier's own checkers and
  code tables) and the capped full-jitter backoff (its random source injectable);
* :mod:`~awsprobe.probing.caller` -- who the probes are sent as (one STS call);
* :mod:`~awsprobe.probing.coverage` -- what an ``allowed`` placeholder probe did not
  exercise (required resource types it named none of, dependent actions);
* :mod:`~awsprobe.probing.results` -- one identity's results as a matrix, several
  identities' matrices as one;
* :mod:`~awsprobe.probing.selection` -- what ``--simulate`` selects: the catalog's dry
  runs and every reference action beyond them;
* :mod:`~awsprobe.probing.simulate` -- IAM's policy simulator: the principal to simulate,
  batched, paginated, paced and retried ``iam:SimulatePrincipalPolicy`` calls, their
  verdicts;
* :mod:`~awsprobe.probing.crosscheck` -- simulated verdicts added to a matrix, and dry runs
  compared with the simulator (``--cross-check``);
* :mod:`~awsprobe.probing.runner` -- the per-identity :class:`Runner`: threads, one
  guarded client per (service, region), a canary per region;
* :mod:`~awsprobe.probing.parallel` -- the same in worker processes, with typed
  messages back to the parent;
* :mod:`~awsprobe.probing.orchestrate` -- :func:`probe` and :func:`can`, the one module
  that sees both the runner and the processes;
* :mod:`~awsprobe.probing.cache` -- :class:`ProbeCache`: each probe sent once per
  (action, region, identity), for the pytest plugin;
* :mod:`~awsprobe.probing.request` -- :func:`probe_request`: one exact request, its
  parameters checked against botocore's model, sent through a runner, its denial decoded.

This package imports none of its modules, so importing one loads only what it needs.
"""
