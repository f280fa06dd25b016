"""The collector: meter readings landed in the store as they arrive.

One long-running process (``carbon collect STORE --twin NAME``, :class:`Collector`) is the
store's only writer. It takes readings from three channels and lands each through the rules of
``carbon ingest`` (:mod:`carbon.ingest`: quarantine with reasons, ``read = accepted +
rejected``, duplicates and conflicts):

* an **HTTP push API** for meter gateways (``POST /v1/readings``, JSON or CSV bodies; the
  routes are in :data:`ROUTES`, described in ``docs/collect.openapi.json``);
* an **MQTT subscriber** for gateways that publish (topic ``PREFIX/GATEWAY/readings``, JSON
  payloads, QoS 1; replies on ``PREFIX/GATEWAY/replies``);
* a **drop folder** for utility exports: a file is ingested once it is complete, which it is
  when it has been *renamed into* the folder (see `Drop folder`_).

Gateways and tokens
-------------------
A gateways file (TOML, :func:`load_gateways`) names each gateway, the SHA-256 of its token
(never the token) and the meters it may write (ids or ``fnmatch`` patterns). A push must carry
its gateway's token (``Authorization: Bearer TOKEN``; in an MQTT payload, ``"token"``); a push
naming a meter outside its gateway's list is refused whole (HTTP 403), nothing stored. A meter
in the list but not in the twin is a row rejected as ``unknown_meter``, as in a file.

Messages, acknowledgement, idempotency
--------------------------------------
Every push is a *message* with a key chosen by the gateway (``Idempotency-Key`` header; in
MQTT, ``"idempotency_key"``). The reply (HTTP 200; the MQTT PUBACK and reply) is sent only
after the message's readings, its rejects and its record in ``messages`` are committed in one
DuckDB transaction, so an acknowledged reading survives a ``kill -9``. A gateway that gets no
reply sends the same message again with the same key: if it was committed, the reply is the
stored one (``"replayed": true``) and nothing is written twice; the same key with another body
is refused (HTTP 409). Keys are remembered for :data:`KEY_WINDOW` (24 h; their hashes in
memory, 8 bytes each); a retry later than that is a new message, whose rows meet the stored
ones and are rejected as ``already_stored``: a reading is never stored twice either way. The
rows of ``messages`` are kept for :data:`MESSAGE_RETENTION` (2 days), then deleted.

Messages waiting in the queue are committed together (one transaction, one pass of the rules;
:func:`carbon.ingest.ingest_messages`), with the outcome of committing them one by one: this
group commit is what keeps acknowledgement fast under bursts (benchmarks/RESULTS.md).

Batches of pushed rows
----------------------
Pushed rows of one gateway in one local month of receipt form one batch (``p_`` + 16 hex
digits of the SHA-256 of ``push``, the gateway and the month), so the ledger sees a few
batches per month instead of one per message. Its ``batches`` row is written with its first
message and brought up to date by every later one, in the same transaction: the counts (``read
= accepted + rejected`` always holds), ``finished_at``, ``size_bytes`` and ``sha256``, a hash
chained over its messages' keys and body hashes. Its rows are numbered in arrival order; each
``messages`` row records its ``first_row`` and ``rows_read``, so a rejected row or a reading
leads back to the message, gateway and key it came in.

Changes, for an incremental ledger
----------------------------------
Each commit that lands readings gets a sequence number and records in ``changes`` how many
readings each (batch, meter, local month) received; :func:`changes_since` reads them and
:meth:`Collector.on_commit` callbacks receive them (:class:`Commit`) in the writer thread, right
after the commit. Files ingested through the collector are recorded likewise, just after their
own transaction; batches found without a record when the collector starts (ingested while it was
not running, or just before a crash) are recorded then. Activity files carry no meter readings
and record nothing.

Drop folder
-----------
A file is taken when it appears in the folder under its final name. Write it elsewhere on the
same file system, or in the folder under a name that starts with ``.`` or ends with ``.part``,
``.tmp`` or ``.partial``, then rename it (a rename is atomic: the collector never sees half a
file). A mapping for ``NAME`` can be given as ``NAME.mapping.toml`` beside it (in place before
``NAME``); otherwise the columns are guessed from the headers. The file is moved to
``done/STAMP_NAME`` and ingested from there (its batch records where it stays), then gets a
receipt ``done/STAMP_NAME.json`` (its batches); a file that cannot be ingested goes to
``failed/`` with the reason (``.error.txt``). At start the collector takes the files left in
the folder and those in ``done/`` without a receipt; a file whose batch committed just before a
crash is recognised (same file, same options) and only gets its receipt.

Where things are
----------------
``gateways`` (the gateways file), ``messages`` (bodies, replies, errors, the record of a
commit), ``collector`` (the queue, the writer thread, group commits, files and voids), ``api``
(the HTTP server), ``mqtt`` (the subscriber), ``drop`` (the drop folder), ``lock`` (the lock
file, and the client other writers use).

Other writers
-------------
DuckDB lets one process write a file. While it runs, the collector keeps ``STORE.collector.json``
beside the store (its process id, its HTTP address, its drop folder and a local token, readable
by its user only). :func:`running_collector` finds it: ``carbon ingest`` then hands its files to
the collector (``POST /v1/ingest``), which ingests them in its writer thread and answers with the
batches; ``carbon ingest --void`` likewise. Any other open of the store for writing fails with a
message naming the collector (:func:`held_by`).
"""

from carbon.collect.api import ROUTES
from carbon.collect.collector import KEY_WINDOW, MAX_BODY_BYTES, MESSAGE_RETENTION, Collector, serve
from carbon.collect.gateways import Gateway, GatewayFileError, load_gateways, token_sha256
from carbon.collect.lock import CollectorInfo, held_by, lock_path, running_collector
from carbon.collect.messages import (
    CollectError,
    Commit,
    MessageError,
    Reply,
    changes_since,
    parse_body,
    push_batch_id,
)

__all__ = [
    "KEY_WINDOW",
    "MAX_BODY_BYTES",
    "MESSAGE_RETENTION",
    "ROUTES",
    "CollectError",
    "Collector",
    "CollectorInfo",
    "Commit",
    "Gateway",
    "GatewayFileError",
    "MessageError",
    "Reply",
    "changes_since",
    "held_by",
    "load_gateways",
    "lock_path",
    "parse_body",
    "push_batch_id",
    "running_collector",
    "serve",
    "token_sha256",
]
