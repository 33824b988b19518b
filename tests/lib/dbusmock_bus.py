# SPDX-License-Identifier: Apache-2.0
"""python-dbusmock on a private system bus, for the Python test drivers: a dbus-daemon of
its own (config and socket in a scratch directory, address from --print-address), one
`python3 -m dbusmock --system -t TEMPLATE [-p PARAMETERS]` on it, waited for until it owns
the template's well-known name, its org.freedesktop.DBus.Mock interface (AddMethod,
AddSession, ...), the calls it recorded (GetCalls, ClearCalls), and a teardown that kills
both processes whatever happened:

    reason = dbusmock_bus.skip_reason()
    if reason:
        skip(reason)                    # the driver's own SKIP convention
    with dbusmock_bus.MockBus("logind") as mb:
        mb.clear_calls()
        subprocess.run([PROGRAM], env=mb.env())   # WARD_SYSTEM_BUS_ADDRESS=mb.address
        check(mb.calls(["Reboot"]) == [("Reboot", [False])], mb.calls())

The program under test gets only WARD_SYSTEM_BUS_ADDRESS (client_env); only the mock is
given DBUS_SYSTEM_BUS_ADDRESS, so a program that ignored its own variable would not find
the mock by accident. dbus-python and dbusmock are imported only by MockBus and plain(),
so skip_reason() works where they are missing. Failures to start raise MockBusError."""
import importlib
import json
import os
import shutil
import subprocess
import tempfile
import time

MOCK_IFACE = "org.freedesktop.DBus.Mock"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
LOGIND_SESSION_IFACE = "org.freedesktop.login1.Session"
# the interpreter the drivers run under (CMake: /usr/bin/python3), where the distribution's
# python3-dbusmock is
MOCK_PYTHON = "/usr/bin/python3"

# everyone may own and call anything: the bus exists for one test only
BUS_CONF = ('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig><type>system</type><listen>unix:path=%s</listen>"
            "<auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/>"
            "<allow own=\"*\"/><allow send_type=\"method_call\"/>"
            "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/>"
            "<allow eavesdrop=\"true\"/></policy></busconfig>\n")


class MockBusError(Exception):
    """The private bus or the mock on it could not be started (or stopped) as asked."""


def skip_reason():
    """Why the dbusmock tests cannot run here (python3-dbusmock or dbus-daemon missing), as
    the text after "SKIP: "; None when they can."""
    try:
        for module in ("dbus", "dbusmock"):
            importlib.import_module(module)
    except ImportError:
        return "python3-dbusmock not installed (scripts/install-deps)"
    if not shutil.which("dbus-daemon"):
        return "dbus-daemon not installed (scripts/install-deps)"
    return None


def client_env(address, **extra):
    """The environment for a program under test that is to use the system bus at address
    (WARD_SYSTEM_BUS_ADDRESS), with extra variables added."""
    return dict(os.environ, WARD_SYSTEM_BUS_ADDRESS=address, **extra)


def plain(value):
    """A dbus-python value as plain Python: Boolean as bool (before int: it is one), other
    numbers as int/float, strings and object paths as str, arrays as lists, structs as
    tuples, dictionaries as dicts."""
    import dbus
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _stop(proc, timeout=10):
    """Terminates proc and reaps it, killing it when it does not go within timeout."""
    if proc is None or proc.poll() is not None:
        if proc is not None:
            proc.wait()
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


class MockBus:
    """A private system bus with python-dbusmock's TEMPLATE on it (parameters: the template's
    -p dictionary). Use as a context manager (start on entry, close on exit, also on an
    exception), or call start() and close() in a try/finally.

    After start: address (for WARD_SYSTEM_BUS_ADDRESS), bus (a dbus.bus.BusConnection),
    name and path (the template's well-known name and main object), obj (that object),
    mock (its org.freedesktop.DBus.Mock interface)."""

    def __init__(self, template, parameters=None, parent_dir=None, timeout=10):
        mod = importlib.import_module("dbusmock.templates." + template)
        self.template, self.parameters, self.timeout = template, parameters, timeout
        self.name, self.path = mod.BUS_NAME, mod.MAIN_OBJ
        self.parent_dir = parent_dir
        self.dir = self.daemon = self.mock_proc = None
        self.address = self.bus = self.obj = self.mock = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        """Starts dbus-daemon and the mock and waits for the mock's name on the bus; on any
        failure both are stopped again before the exception goes on."""
        import dbus
        try:
            self.dir = tempfile.mkdtemp(prefix="ward-bus-", dir=self.parent_dir)
            conf = os.path.join(self.dir, "bus.conf")
            with open(conf, "w") as f:
                f.write(BUS_CONF % os.path.join(self.dir, "bus"))
            daemon_exe = shutil.which("dbus-daemon")
            if not daemon_exe:
                raise MockBusError("dbus-daemon not installed (scripts/install-deps)")
            self.daemon = subprocess.Popen([daemon_exe, "--config-file=" + conf, "--nofork",
                                            "--print-address"], stdout=subprocess.PIPE,
                                           text=True)
            self.address = self.daemon.stdout.readline().strip()
            if not self.address:
                raise MockBusError("dbus-daemon printed no address")
            argv = [MOCK_PYTHON, "-m", "dbusmock", "--system", "-t", self.template]
            if self.parameters is not None:
                argv += ["-p", json.dumps(self.parameters)]
            self.mock_proc = subprocess.Popen(
                argv, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
                stdout=subprocess.DEVNULL)
            self.bus = dbus.bus.BusConnection(self.address)
            self._wait_name(True)
            self.obj = self.bus.get_object(self.name, self.path)
            self.mock = dbus.Interface(self.obj, MOCK_IFACE)
        except BaseException:
            self.close()
            raise
        return self

    def _wait_name(self, owned):
        """Waits (up to timeout) until the mock's name is owned, or no longer owned."""
        what = "dbusmock's %s" % self.template
        deadline = time.monotonic() + self.timeout
        while self.bus.name_has_owner(self.name) != owned:
            if owned and self.mock_proc.poll() is not None:
                raise MockBusError("%s exited (%d) before %s appeared on the bus" %
                                   (what, self.mock_proc.returncode, self.name))
            if time.monotonic() > deadline:
                raise MockBusError("%s: %s still %s on the bus after %ss" %
                                   (what, self.name, "missing" if owned else "there",
                                    self.timeout))
            time.sleep(0.05)

    def env(self, **extra):
        """client_env for this bus."""
        return client_env(self.address, **extra)

    def interface(self, iface, path=None):
        """iface of the mock's object at path (default: the main object)."""
        import dbus
        return dbus.Interface(self.bus.get_object(self.name, path or self.path), iface)

    def set_property(self, path, iface, prop, value):
        """Sets iface's property prop of the object at path through org.freedesktop.DBus
        .Properties (the mock lets every property be set)."""
        self.interface(PROPS_IFACE, path).Set(iface, prop, value)

    def add_session(self, sid, seat, uid, user, stype, cls="user"):
        """logind template: an active session sid of user (uid) with Type stype and Class
        cls (the template makes every one Type "test", Class "user"); seat "" makes one
        without a seat (a remote desktop: Seat ("", "/")). Returns its object path."""
        import dbus
        path = self.mock.AddSession(sid, seat or "seat0", dbus.UInt32(uid), user, True)
        self.set_property(path, LOGIND_SESSION_IFACE, "Type", stype)
        self.set_property(path, LOGIND_SESSION_IFACE, "Class", cls)
        if not seat:
            self.set_property(path, LOGIND_SESSION_IFACE, "Seat",
                              dbus.Struct(("", dbus.ObjectPath("/")), signature="so"))
        return path

    def get_calls(self, methods=None):
        """The method calls the mock recorded (GetCalls), oldest first, as (method name,
        [arguments as dbus-python gives them]); only those to methods when given."""
        return [(str(c[1]), list(c[2])) for c in self.mock.GetCalls()
                if methods is None or str(c[1]) in methods]

    def calls(self, methods=None):
        """get_calls with the arguments as plain Python values (plain())."""
        return [(m, [plain(a) for a in args]) for m, args in self.get_calls(methods)]

    def clear_calls(self):
        """Forgets the calls recorded so far (ClearCalls)."""
        self.mock.ClearCalls()

    def stop_mock(self):
        """Stops the mock alone and waits until its name is gone: the bus stays up, with
        nobody answering for the template's service."""
        _stop(self.mock_proc)
        self.mock_proc = self.mock = self.obj = None
        self._wait_name(False)

    def close(self):
        """Stops the mock and dbus-daemon (whatever state they are in) and removes the
        scratch directory; safe to call more than once."""
        try:
            if self.bus is not None:
                self.bus.close()
        finally:
            try:
                _stop(self.mock_proc)
            finally:
                _stop(self.daemon)
                if self.daemon is not None:
                    self.daemon.stdout.close()
                if self.dir:
                    shutil.rmtree(self.dir, ignore_errors=True)
                self.mock_proc = self.daemon = self.bus = self.dir = None
                self.mock = self.obj = None
