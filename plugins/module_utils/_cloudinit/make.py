# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cloudinit_seed pipeline (private to this collection).

render (offline checks) -> [validate with the target image's own cloud-init] -> write per file (idempotent,
check mode, diff) -> the config fragment that places the seed on the ISO or in the root filesystem.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, TypedDict

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import seed
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.schema import validate_in_image


@dataclasses.dataclass(frozen=True)
class SeedRequest:
    """The cloudinit_seed module's options, as the library takes them."""

    dest: str
    meta_data: seed.SeedInput = None
    user_data: seed.SeedInput = None
    network_config: seed.SeedInput = None
    vendor_data: seed.SeedInput = None
    instance_id: Optional[str] = None
    host: Optional[str] = None
    placement: seed.Placement = seed.Placement.ISO  #: the option's string ("iso", "rootfs") is accepted too
    live_medium_path: Optional[str] = None
    validate_with_image: Optional[str] = None
    show_secrets: bool = False
    mode: Optional[str] = None  #: user-data and vendor-data; None: 0600
    public_mode: Optional[str] = None  #: meta-data and network-config; None: 0644
    owner: Optional[str] = None  #: a user name or uid; None: not managed
    group: Optional[str] = None
    check_mode: bool = False
    diff: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "placement", seed.Placement(self.placement))


class _SeedResult(TypedDict):
    changed: bool
    files: Dict[str, str]  #: {seed file name: its path}
    changed_files: List[str]
    instance_id: str
    config: seed.ConfigFragment  #: the fragment that places the seed (see :meth:`seed.Placement.fragment`)
    live_medium_path: str
    modes: Dict[str, str]  #: {seed file name: its octal mode}
    notes: List[str]


class SeedResult(_SeedResult, total=False):
    """The cloudinit_seed module's result."""

    diff: List[seed.SeedDiff]  #: with the module's diff mode only


def make_seed(request: SeedRequest) -> SeedResult:
    """Render, validate and write the seed of ``request``; return the module result."""
    attributes = seed.FileAttributes.from_options(request.mode, request.public_mode, request.owner, request.group)
    files = seed.render_seed(request.meta_data, request.user_data, request.network_config, request.vendor_data,
                             request.instance_id, request.host)
    notes = ["offline checks passed: %s" % ", ".join(sorted(files))]
    medium = request.live_medium_path
    if request.validate_with_image:
        facts = validate_in_image(request.validate_with_image, files)
        notes += facts["notes"]
        medium = medium or facts["live_medium"]
    medium = medium or seed.LiveMedium.DRACUT.value
    changed, diffs = seed.write_seed(request.dest, files, request.check_mode, request.show_secrets, attributes)
    dest = request.dest.rstrip("/")
    result = SeedResult(
        changed=bool(changed),
        files={name: "%s/%s" % (dest, name) for name in files},
        changed_files=changed,
        instance_id=seed.load_yaml("meta-data", files["meta-data"])["instance-id"],
        config=seed.config_fragment(request.placement, request.dest, medium, files=files),
        live_medium_path=medium,
        modes={name: "%04o" % attributes.mode_of(seed.SeedFile(name)) for name in files},
        notes=notes,
    )
    if request.diff:
        result["diff"] = diffs
    return result
