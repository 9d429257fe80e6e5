# SPDX-License-Identifier: GPL-3.0-or-later
"""userdata.py: user-data formats told apart as cloud-init 22.4 does, and each format checked."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import seed, userdata
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import SeedError, render_seed
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.userdata import UserDataFormat
from ansible_collections.liveiso.customizer.plugins.module_utils._core import secrets


@pytest.fixture(autouse=True)
def isolated_secrets():
    saved = set(secrets._SECRETS)
    secrets._SECRETS.clear()
    yield secrets._SECRETS
    secrets._SECRETS.clear()
    secrets._SECRETS.update(saved)


def mime(*parts, version=True, boundary="XyZ"):
    """A multipart/mixed text of (content type, payload) parts."""
    head = 'Content-Type: multipart/mixed; boundary="%s"\n' % boundary + ("MIME-Version: 1.0\n" if version else "")
    body = "".join('--%s\nContent-Type: %s; charset="us-ascii"\n\n%s\n' % (boundary, ctype, payload)
                   for ctype, payload in parts)
    return head + "\n" + body + "--%s--\n" % boundary


def error_of(text, name="user-data"):
    with pytest.raises(SeedError) as info:
        render_seed(**{name.replace("-", "_"): text})
    return str(info.value)


@pytest.mark.parametrize("text,fmt", [
    ("#cloud-config\n", UserDataFormat.CLOUD_CONFIG),
    ("#Cloud-Config\n", UserDataFormat.CLOUD_CONFIG),  # cloud-init lower-cases before matching
    ("\n  \t#cloud-config\n", UserDataFormat.CLOUD_CONFIG),  # ... and strips leading whitespace
    ("#cloud-config # site a\n", UserDataFormat.CLOUD_CONFIG),
    ("#cloud-configx\n", UserDataFormat.CLOUD_CONFIG),  # a prefix match, as cloud-init's
    ("#cloud-config-archive\n", UserDataFormat.CLOUD_CONFIG_ARCHIVE),  # the longest header wins
    ("#cloud-config-jsonp\n", UserDataFormat.CLOUD_CONFIG_JSONP),
    ("#include-once\n", UserDataFormat.INCLUDE_ONCE),
    ("#include\n", UserDataFormat.INCLUDE),
    ("#!/bin/sh\n", UserDataFormat.SCRIPT),
    ("## template: jinja\n", UserDataFormat.JINJA_TEMPLATE),
    ("## Template: Jinja\n", UserDataFormat.JINJA_TEMPLATE),
    ("#upstart-job\n", UserDataFormat.UPSTART_JOB),
    ("x-header: 1\nmime-version: 1.0\n\nhello", UserDataFormat.MIME_MULTIPART),  # anywhere in the first 4 KiB
    ("#cloud-config\n# MIME-Version: 1.0\n", UserDataFormat.MIME_MULTIPART),  # cloud-init would read MIME too
    ("#cloud-config\n" + "#\n" * 2100 + "MIME-Version: 1.0\n", UserDataFormat.CLOUD_CONFIG),  # past 4096 bytes
    ("Content-Type: multipart/mixed\n\n", None),  # no MIME-Version: not MIME for cloud-init
    ("\ufeff#cloud-config\n", None),
    ("hello\n", None),
])
def test_format_as_cloud_init_reads_it(text, fmt):
    assert UserDataFormat.of(text) is fmt


def test_every_format_has_the_content_type_cloud_init_gives_it():
    assert {fmt.name: fmt.content_type for fmt in UserDataFormat if fmt.name.startswith("CLOUD")} == {
        "CLOUD_CONFIG": "text/cloud-config", "CLOUD_CONFIG_ARCHIVE": "text/cloud-config-archive",
        "CLOUD_CONFIG_JSONP": "text/cloud-config-jsonp"}
    assert UserDataFormat.JINJA_TEMPLATE.content_type == "text/jinja2"


@pytest.mark.parametrize("text", [
    "  #cloud-config\nhostname: a\n",
    "#CLOUD-CONFIG\nhostname: a\n",
    "#cloud-config  # for site a\nhostname: a\n",
])
def test_headers_cloud_init_accepts_are_accepted_and_yaml_checked(text):
    assert render_seed(user_data=text)["user-data"] == text
    bad = text.replace("hostname: a", "hostname: a: b")
    assert "line 2: not valid YAML: mapping values are not allowed here" in error_of(bad)


def test_trailing_comment_header_still_checks_the_mapping():
    assert error_of("#cloud-config # x\n- a\n") == "user-data: a #cloud-config must be a mapping, got list"


def test_bom_is_refused_with_the_reason():
    assert "UTF-8 byte order mark: cloud-init then reads no header and ignores it" in error_of(
        "\ufeff#cloud-config\nhostname: a\n")
    assert error_of("\ufeff#!/bin/sh\n", "vendor-data").startswith("vendor-data: line 1: starts with a UTF-8")


def test_upstart_job_is_refused():
    message = error_of("#upstart-job\ndescription: x\n")
    assert "#upstart-job is no longer read: cloud-init dropped upstart support" in message
    assert "systemd unit" in message


def test_content_type_without_mime_version_is_refused_with_the_fix():
    text = mime(("text/cloud-config", "#cloud-config\nhostname: a"), version=False)
    message = error_of(text)
    assert message.startswith("user-data: line 1: unknown format (first line 'Content-Type: multipart/mixed;")
    assert "add 'MIME-Version: 1.0'" in message


def test_real_multipart_is_accepted_and_its_parts_listed():
    text = mime(("text/cloud-config", "#cloud-config\nhostname: a"), ("text/x-shellscript", "#!/bin/sh\necho hi"),
                ("text/plain", "#cloud-config\npackages: [jq]"))
    assert render_seed(user_data=text)["user-data"] == text
    assert [(label, ctype) for label, ctype, _p in userdata.parts(text, "user-data")] == [
        ("MIME part 1 (text/cloud-config): ", "text/cloud-config"),
        ("MIME part 2 (text/x-shellscript): ", "text/x-shellscript"),
        ("MIME part 3 (text/plain): ", "text/cloud-config")]  # text/plain typed by its header, as cloud-init does
    assert [label for label, _t in userdata.cloud_config_texts(text, "user-data")] == [
        "MIME part 1 (text/cloud-config)", "MIME part 3 (text/plain)"]


@pytest.mark.parametrize("part,message", [
    (("text/cloud-config", "#cloud-config\nusers: [\n"),
     "user-data: MIME part 2 (text/cloud-config): line 3: not valid YAML: expected the node content, but found "
     "'<stream end>'"),
    (("text/cloud-config", "#cloud-config\n- a"),
     "user-data: MIME part 2 (text/cloud-config): a #cloud-config must be a mapping, got list"),
    (("text/plain", "#upstart-job\nx"), "user-data: MIME part 2 (text/plain): #upstart-job is no longer read"),
    (("text/x-bogus", "hello"), "user-data: MIME part 2 (text/x-bogus): cloud-init has no handler for "
                                "text/x-bogus and ignores it"),
])
def test_bad_multipart_parts_are_named(part, message):
    text = mime(("text/x-shellscript", "#!/bin/sh\necho hi"), part)
    assert error_of(text).startswith(message)


def test_unknown_part_type_is_fine_with_a_part_handler():
    text = mime(("text/part-handler", "#part-handler\ndef list_types(): return ['text/x-bogus']"),
                ("text/x-bogus", "hello"))
    assert render_seed(user_data=text)["user-data"] == text


def test_secrets_in_multipart_cloud_config_are_registered(isolated_secrets):
    text = mime(("text/cloud-config", "#cloud-config\nusers: [{name: a, lock_passwd: false, "
                                      "plain_text_passwd: Mime-Part-Pw-1}]"))
    render_seed(user_data=text)
    assert "Mime-Part-Pw-1" in isolated_secrets and "false" not in isolated_secrets


ARCHIVE = ("#cloud-config-archive\n"
           "- type: text/cloud-config\n  content: |\n    #cloud-config\n    hostname: a\n"
           "- content: '#!/bin/sh\n\n    echo hi'\n"
           "- 'packages: [jq]'\n")


def test_archive_is_a_list_of_parts():
    assert render_seed(user_data=ARCHIVE)["user-data"] == ARCHIVE
    assert [(label, ctype) for label, ctype, _p in userdata.parts(ARCHIVE, "user-data")] == [
        ("archive part 0 (text/cloud-config): ", "text/cloud-config"),
        ("archive part 1 (text/x-shellscript): ", "text/x-shellscript"),
        ("archive part 2 (text/cloud-config): ", "text/cloud-config")]  # no type, no header: a cloud-config
    texts = userdata.cloud_config_texts(ARCHIVE, "user-data")
    assert texts[1] == ("archive part 2 (text/cloud-config)", "#cloud-config\npackages: [jq]")


@pytest.mark.parametrize("text,message", [
    ("#cloud-config-archive\nhostname: a\n", "user-data: a #cloud-config-archive must be a list of parts, got dict"),
    ("#cloud-config-archive\n- 1\n", "user-data: archive part 0: must be a string or a mapping with content, got int"),
    ("#cloud-config-archive\n- {content: [a]}\n", "user-data: archive part 0: content must be a string, got list"),
    ("#cloud-config-archive\n- {type: cloud-config, content: 'a: 1'}\n",
     "user-data: archive part 0: type must be a MIME type such as text/cloud-config, got 'cloud-config'"),
    ("#cloud-config-archive\n- 'a: [1'\n", "user-data: archive part 0 (text/cloud-config): line 1: not valid YAML"),
    ("#cloud-config-archive\n- '- a'\n",
     "user-data: archive part 0 (text/cloud-config): a #cloud-config must be a mapping, got list"),
    ("#cloud-config-archive\n- [\n", "user-data: line 3: not valid YAML"),
])
def test_bad_archives(text, message):
    assert error_of(text).startswith(message)


def test_jsonp_is_a_json_patch():
    good = '#cloud-config-jsonp\n[{"op": "add", "path": "/hostname", "value": "a"}]\n'
    assert render_seed(user_data=good)["user-data"] == good
    assert "a #cloud-config-jsonp must be a JSON patch" in error_of('#cloud-config-jsonp\n{"hostname": "a"}\n')


@pytest.mark.parametrize("text", [
    "## template: jinja\n#cloud-config\nhostname: {{ ds.meta_data.local_hostname }}\n",  # YAML only after rendering
    "## template: jinja\n#!/bin/sh\necho {{ v1.instance_id }}\n",
    "## template: jinja\n#cloud-config\nhostname: plain\n",
])
def test_jinja_templates_are_accepted(text):
    assert render_seed(user_data=text)["user-data"] == text


@pytest.mark.parametrize("text,message", [
    ("## template: jinja\n#cloud-config\nhostname: a: b\n",
     "user-data: after ## template: jinja: line 2: not valid YAML: mapping values are not allowed here"),
    ("## template: jinja\nhostname: {{ v1.x }}\n",
     "user-data: after ## template: jinja: the rendered text must start with a header cloud-init has a handler "
     "for, got 'hostname: {{ v1.x }}'"),
    ("## template: jinja\n", "user-data: after ## template: jinja: nothing to render"),
])
def test_bad_jinja_templates(text, message):
    assert error_of(text).startswith(message)


def test_jinja_without_markers_is_schema_checked_rendered():
    text = "## template: jinja\n#cloud-config\nhostname: plain\n"
    assert userdata.cloud_config_texts(text, "user-data") == [("rendered", "#cloud-config\nhostname: plain\n")]
    assert userdata.cloud_config_texts("## template: jinja\n#cloud-config\nh: {{ x }}\n", "user-data") == []


def test_cloud_config_texts_normalise_the_header_for_the_schema_command():
    assert userdata.cloud_config_texts("  #Cloud-Config\na: 1\n", "user-data") == [
        ("user-data", "#cloud-config\n  #Cloud-Config\na: 1\n")]
    assert userdata.cloud_config_texts("#cloud-config\na: 1\n", "user-data") == [("user-data", "#cloud-config\na: 1\n")]
    assert userdata.cloud_config_texts("#!/bin/sh\n", "user-data") == []


def test_seed_reexports_the_format_enum():
    assert seed.UserDataFormat is UserDataFormat
