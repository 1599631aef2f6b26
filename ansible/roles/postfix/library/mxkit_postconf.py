#!/usr/bin/python3
# mxkit_postconf: set Postfix main.cf parameters and master.cf entries with
# postconf(1) only where the current value differs, so a second run reports
# no change. Reads with `postconf NAME...`, `postconf -M`, `postconf -P`;
# writes with `postconf -e`, `postconf -M` and `postconf -P`.
from __future__ import annotations

DOCUMENTATION = r"""
module: mxkit_postconf
short_description: Idempotent postconf -e / -M / -P
description:
  - Compares each wanted main.cf parameter, master.cf service entry and
    master.cf service parameter with what postconf reports now and writes
    only the ones that differ.
options:
  config_dir:
    description: Postfix configuration directory.
    type: path
    default: /etc/postfix
  main:
    description: main.cf parameters, name to value (lists are joined with ", ", booleans become yes/no).
    type: dict
    default: {}
  master:
    description: >-
      master.cf entries, "service/type" to the eight fields
      "service type private unpriv chroot wakeup maxproc command [args]".
      Only these fields are compared; -o options are managed with I(master_params).
    type: dict
    default: {}
  master_params:
    description: master.cf -o options, "service/type" to a dict of parameter to value.
    type: dict
    default: {}
  absent_main:
    description: main.cf parameters to remove (postconf -X) when main.cf sets them.
    type: list
    elements: str
    default: []
  absent_master:
    description: master.cf services ("service/type") to remove (postconf -MX) when present.
    type: list
    elements: str
    default: []
"""

from ansible.module_utils.basic import AnsibleModule


def to_text(value):
    """Render a wanted value the way postconf prints it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(to_text(v) for v in value)
    return str(value).strip()


def parse_assignments(text):
    """Parse `name = value` lines (postconf and postconf -P output)."""
    found = {}
    for line in text.splitlines():
        name, sep, value = line.partition(" =")
        if sep:
            found[name.strip()] = value.strip()
    return found


def master_fields(entry):
    """The service definition of a master.cf line, without its -o options."""
    fields = []
    for word in entry.split():
        if word == "-o":
            break
        fields.append(word)
    return fields


def run_postconf(module, config_dir, args):
    cmd = ["postconf", "-c", config_dir] + args
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg="%s failed: %s" % (" ".join(cmd), err.strip()), rc=rc)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default="/etc/postfix"),
            main=dict(type="dict", default={}),
            master=dict(type="dict", default={}),
            master_params=dict(type="dict", default={}),
            absent_main=dict(type="list", elements="str", default=[]),
            absent_master=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    cdir = module.params["config_dir"]
    want_main = {k: to_text(v) for k, v in module.params["main"].items()}
    want_master = {k: to_text(v) for k, v in module.params["master"].items()}
    want_params = {}
    for service, params in module.params["master_params"].items():
        if not isinstance(params, dict):
            module.fail_json(msg="master_params[%r] is not a dict" % service)
        for name, value in params.items():
            want_params["%s/%s" % (service, name)] = to_text(value)
    for key in want_master:
        if key.count("/") != 1:
            module.fail_json(msg="master key %r is not service/type" % key)
    for key in want_params:
        if key.count("/") != 2:
            module.fail_json(msg="master_params key %r is not service/type/parameter" % key)

    changes = []
    before = {}
    after = {}

    if want_main:
        have = parse_assignments(run_postconf(module, cdir, sorted(want_main)))
        for name in sorted(want_main):
            if have.get(name) != want_main[name]:
                before[name] = have.get(name)
                after[name] = want_main[name]
                changes.append(["-e", "%s=%s" % (name, want_main[name])])

    # Service entries first: -P needs the service to exist.
    for key in sorted(want_master):
        out = run_postconf(module, cdir, ["-M", key])
        if master_fields(out) != master_fields(want_master[key]):
            before[key] = out.strip() or None
            after[key] = want_master[key]
            changes.append(["-M", "%s=%s" % (key, want_master[key])])

    if want_params:
        have = parse_assignments(run_postconf(module, cdir, ["-P"] + sorted(want_params)))
        for key in sorted(want_params):
            if have.get(key) != want_params[key]:
                before[key] = have.get(key)
                after[key] = want_params[key]
                changes.append(["-P", "%s=%s" % (key, want_params[key])])

    absent_main = sorted(set(module.params["absent_main"]) - set(want_main))
    if absent_main:
        # postconf -n prints only what main.cf itself sets.
        have = parse_assignments(run_postconf(module, cdir, ["-n"] + absent_main))
        for name in absent_main:
            if name in have:
                before[name] = have[name]
                after[name] = None
                changes.append(["-X", name])

    for key in sorted(set(module.params["absent_master"]) - set(want_master)):
        if key.count("/") != 1:
            module.fail_json(msg="absent_master key %r is not service/type" % key)
        out = run_postconf(module, cdir, ["-M", key])
        if out.strip():
            before[key] = out.strip()
            after[key] = None
            changes.append(["-MX", key])

    if changes and not module.check_mode:
        for args in changes:
            run_postconf(module, cdir, args)

    module.exit_json(
        changed=bool(changes),
        changes=[" ".join(c) for c in changes],
        diff=dict(
            before="".join("%s = %s\n" % (k, before[k]) for k in sorted(before)),
            after="".join("%s = %s\n" % (k, after[k]) for k in sorted(after)),
        ),
    )


if __name__ == "__main__":
    main()
