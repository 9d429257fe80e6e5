# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets: a planted password, password hash and private key never appear in results, warnings, errors,
the verbose ansible-playbook output or the build log, on success and on failure."""

import glob
import json
import os

import pytest

from conftest import leaks, run_playbook

pytestmark = pytest.mark.root

PASSWORD = "Planted-Pa55word-7Q"
HASH = "$6$plantedsalt$PlantedHashValueForTheSecretsTestOnly0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
KEY = "PlantedPrivateKeyBody0123456789"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n" % KEY
SECRETS = (PASSWORD, HASH, KEY)


@pytest.fixture(scope="module")
def runs(base_dir, tmp_path_factory):
    work = str(tmp_path_factory.mktemp("secrets"))
    builds = os.path.join(work, "builds")
    image = os.path.join(base_dir, "base.qcow2")
    user_data = {"users": [{"name": "ops", "passwd": HASH}], "chpasswd": {"users": [
        {"name": "root", "password": PASSWORD, "type": "text"}]},
        "ssh_keys": {"ed25519_private": PRIVATE_KEY}}
    tasks = [
        # 1. a failing build: the failing script prints the plaintext password (registered as a secret)
        {"liveiso.customizer.image_customize": {
            "image": image, "output": os.path.join(work, "fail.qcow2"), "build_dir": builds,
            "config": {"os": {"users": [{"name": "ops", "password": {"type": "plain-text", "value": PASSWORD}}]},
                       "scripts": {"postCustomization": [
                           {"content": "echo 'the password is %s'; exit 3" % PASSWORD, "name": "leaky"}]}}}},
        # 2. a good seed (results, diff, messages)
        {"liveiso.customizer.cloudinit_seed": {"dest": os.path.join(work, "seed"), "user_data": user_data,
                                               "meta_data": {"instance-id": "secrets"}}},
        # 3. a bad seed: invalid user-data next to the secrets
        {"liveiso.customizer.cloudinit_seed": {"dest": os.path.join(work, "bad-seed"),
                                               "user_data": "#cloud-config\npasswd: %s\nusers: [\n" % HASH,
                                               "meta_data": {"instance-id": "secrets"}}},
        # 4. a seed validated against the image itself
        {"liveiso.customizer.cloudinit_seed": {"dest": os.path.join(work, "seed2"), "user_data": user_data,
                                               "meta_data": {"instance-id": "secrets2"},
                                               "validate_with_image": image}},
    ]
    tasks = [dict(task, name="task %d" % i, diff=True) for i, task in enumerate(tasks)]
    rc, results, output = run_playbook(work, tasks, extra_env={"ANSIBLE_VERBOSITY": "3"})
    logs = ""
    for path in glob.glob(os.path.join(builds, "*.log")):
        with open(path, errors="replace") as handle:
            logs += handle.read()
    return {"results": results, "output": output, "logs": logs, "work": work}


def test_builds_ran_as_planned(runs):
    failed, good, bad, validated = runs["results"]
    assert failed.get("failed") and "leaky" in failed["msg"] and "exit code 3" in failed["msg"], failed
    assert not good.get("failed"), good.get("msg")
    assert bad.get("failed") and "user-data" in bad["msg"], bad
    assert not validated.get("failed"), validated.get("msg")
    assert runs["logs"], "the failing build's log was kept in build_dir"
    assert leaks() == ("", [])
    with open(os.path.join(runs["work"], "seed", "user-data")) as handle:
        assert PASSWORD in handle.read()  # the secret is in the seed itself (where it belongs), nowhere else


@pytest.mark.parametrize("where", ["results", "output", "logs"])
@pytest.mark.parametrize("secret", SECRETS, ids=["password", "hash", "private-key"])
def test_secret_absent(runs, where, secret):
    text = json.dumps(runs[where]) if where == "results" else runs[where]
    assert secret not in text, "%s found in %s" % (secret, where)
