"""The demo municipality 「デモ市（架空）」: a deterministic, clearly synthetic data set.

``mapsvc demo`` generates it into ``<instance>/demo/`` (see :mod:`mapsvc.demo.generate`)
and loads it through the same importers as real data (:func:`load_demo`): boundaries and
six 日常生活圏域 with one 地域包括支援センター each, a 250 m population grid by age band, a
drivable road network and about 800 providers of every type. Views call
:func:`is_demo_store` to show the 「架空のデモデータです」 banner.

Modules: ``geography`` (boundary, towns, areas), ``population`` (mesh grid), ``network``
(roads), ``profiles`` and ``providers`` (providers and their capabilities), ``generate``
(files and manifest), ``load`` (into a store).
"""

from __future__ import annotations

from mapsvc.demo.generate import generate_demo
from mapsvc.demo.geography import CITY, CITY_LABEL, MUNICIPALITY_CODE
from mapsvc.demo.load import (
    DEMO_DATASET,
    DEMO_NETWORK,
    DEMO_SOURCE,
    DemoLoadReport,
    demo_folder,
    is_demo_store,
    load_demo,
)

__all__ = [
    "CITY",
    "CITY_LABEL",
    "DEMO_DATASET",
    "DEMO_NETWORK",
    "DEMO_SOURCE",
    "MUNICIPALITY_CODE",
    "DemoLoadReport",
    "demo_folder",
    "generate_demo",
    "is_demo_store",
    "load_demo",
]
