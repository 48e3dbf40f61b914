"""IP → ASN evidence from three independent sources behind one small interface.

- ``prefix-table`` — :class:`PrefixTable`: a routing-table snapshot on disk (pyasn DAT, iptoasn TSV);
- ``cymru-dns`` — :class:`CymruDnsSource`: Team Cymru's IP-to-ASN DNS zone;
- ``rdap`` — :class:`RdapSource`: RIR RDAP via ipwhois (its ASN step also asks Cymru DNS).

Offline, :class:`ReplayAsnSource` answers from an :class:`AsnRecording` of the live answers
(an evidence bundle's ``asn-answers.json``) under the live source's name.

Every source's ``lookup(ips)`` returns one :class:`AsnAnswer` per input, in order, and never
raises for a bad input or a failed lookup. The sources disagree in practice (for Chinese
addresses a routing table often shows the provincial ASN, e.g. AS4812 China Telecom Shanghai,
where Cymru reports the covering backbone AS4134) — keep every answer as evidence.

Nothing here touches the public Internet unless asked: the DNS sources need explicit
nameservers, and the RDAP source needs either a local base URL or ``online=True``.
"""

from __future__ import annotations

from ._dns import SourceConfigError
from .answer import AsnAnswer, AsnSource, AsnStatus, Clock, iso_utc, utc_now
from .cache import AnswerCache
from .cymru import CymruDnsSource
from .rdap import RdapSource
from .replay import (
    AsnRecording,
    ReplayAsnSource,
    dumps_asn_recording,
    read_asn_recording,
    replay_sources,
)
from .table import PrefixTable, TableVersion

__all__ = [
    "AnswerCache",
    "AsnAnswer",
    "AsnRecording",
    "AsnSource",
    "AsnStatus",
    "Clock",
    "CymruDnsSource",
    "PrefixTable",
    "RdapSource",
    "ReplayAsnSource",
    "SourceConfigError",
    "TableVersion",
    "dumps_asn_recording",
    "iso_utc",
    "read_asn_recording",
    "replay_sources",
    "utc_now",
]
