"""A small program whose behaviour the process-runner tests choose through argv.

usage: behaving_process.py MODE [ARGS]
  echo-stdin        print what arrives on stdin, then exit 0
  argv              print argv[2:] as JSON
  env NAME...       print the named environment variables as JSON
  cwd               print the working directory
  sleep S           sleep S seconds, then print "woke"
  chatty N S        print a line every S seconds, N times
  flood BYTES       print BYTES bytes at once
  tree PIDFILE      start a grandchild that sleeps, write its pid, sleep
  stubborn-tree PIDFILE   as tree, its grandchild ignoring SIGTERM (the leader does not)
  stubborn          ignore SIGTERM and sleep
  exit CODE         write "bye" to stderr and exit with CODE
"""

import json
import os
import signal
import subprocess
import sys
import time

mode = sys.argv[1]
if mode == "echo-stdin":
    sys.stdout.write(sys.stdin.read())
elif mode == "argv":
    print(json.dumps(sys.argv[2:]))
elif mode == "env":
    print(json.dumps({name: os.environ.get(name) for name in sys.argv[2:]}))
elif mode == "cwd":
    print(os.getcwd())
elif mode == "sleep":
    time.sleep(float(sys.argv[2]))
    print("woke")
elif mode == "chatty":
    for i in range(int(sys.argv[2])):
        print(f"line {i}", flush=True)
        time.sleep(float(sys.argv[3]))
elif mode == "flood":
    sys.stdout.write("x" * int(sys.argv[2]))
elif mode == "tree":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(sys.argv[2], "w") as f:
        f.write(str(child.pid))
    print("started", flush=True)
    time.sleep(120)
elif mode == "stubborn-tree":
    # The grandchild writes its pid once it ignores SIGTERM: "started" means it does.
    ignoring = (
        "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
    )
    subprocess.Popen([sys.executable, "-c", ignoring, sys.argv[2]])
    while not (os.path.exists(sys.argv[2]) and os.path.getsize(sys.argv[2])):
        time.sleep(0.01)
    print("started", flush=True)
    time.sleep(120)
elif mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring", flush=True)
    time.sleep(120)
elif mode == "exit":
    sys.stderr.write("bye\n")
    sys.exit(int(sys.argv[2]))
