"""The writers' queue on SQLite (`incidents.locks.init_writer_queue`): a process's turn to write
is taken before a write transaction begins and let go at its commit or rollback; another process
waits for it, and goes on without it once SQLite's own timeout has passed.

Locks on the queue's file belong to a process, so whether the turn is taken is asked of another
process: `held_by_someone` tries to take it there without waiting."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from incidents import locks

PROBE = textwrap.dedent(
    """
    import fcntl, os, sys
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(3)
    """
)


def held_by_someone(path: Path) -> bool:
    """True when another process holds the turn (asked from a third process)."""
    probe = subprocess.run([sys.executable, "-c", PROBE, str(path)], check=False)
    assert probe.returncode in (0, 3), probe
    return probe.returncode == 3


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    database = tmp_path / "queue.db"
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE row (id INTEGER PRIMARY KEY, who TEXT)"))
    locks.init_writer_queue(engine, str(database))
    return engine


def turn(tmp_path: Path) -> Path:
    return tmp_path / "queue.db-writer"


def test_a_write_transaction_holds_the_turn_until_its_commit(engine, tmp_path):
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM row"))
        assert not held_by_someone(turn(tmp_path)), "a read takes no turn"
        connection.execute(text("INSERT INTO row (who) VALUES ('first')"))
        assert held_by_someone(turn(tmp_path))
        connection.commit()
        assert not held_by_someone(turn(tmp_path))


def test_a_rollback_lets_the_turn_go(engine, tmp_path):
    with engine.connect() as connection:
        connection.execute(text("UPDATE row SET who = 'x'"))
        assert held_by_someone(turn(tmp_path))
        connection.rollback()
        assert not held_by_someone(turn(tmp_path))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM row")).scalar() == 0


def test_begin_immediate_takes_the_turn_before_the_first_read(engine, tmp_path):
    with engine.connect() as connection:
        locks.begin_immediate(connection)
        assert held_by_someone(turn(tmp_path))
        connection.execute(text("SELECT count(*) FROM row"))
        connection.rollback()
        assert not held_by_someone(turn(tmp_path))


def test_a_connection_closed_in_the_middle_of_a_write_lets_the_turn_go(engine, tmp_path):
    connection = engine.connect()
    connection.execute(text("INSERT INTO row (who) VALUES ('left')"))
    assert held_by_someone(turn(tmp_path))
    connection.close()  # back to the pool, rolled back there
    assert not held_by_someone(turn(tmp_path))


WRITER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import create_engine, text
    from incidents import locks
    database, who, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = create_engine(f"sqlite:///{database}")
    locks.init_writer_queue(engine, database)
    for n in range(rows):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO row (who) VALUES (:who)"), {"who": f"{who}-{n}"})
            count = connection.execute(text("SELECT count(*) FROM row")).scalar()
    print(time.time())
    """
)


def writer(database: Path, who: str, rows: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(database), who, str(rows)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_writers_of_two_processes_wait_for_each_other_and_write_every_row_once(engine, tmp_path):
    database = tmp_path / "queue.db"
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO row (who) VALUES ('holder')"))
        others = [writer(database, "a", 50), writer(database, "b", 50)]
        time.sleep(0.5)  # they start, and wait for the turn this transaction holds
        assert all(other.poll() is None for other in others)
        released = time.time()
        connection.commit()
    finished = [float(other.communicate(timeout=60)[0]) for other in others]
    assert all(other.returncode == 0 for other in others)
    assert min(finished) > released, "a writer went on while another process held the turn"
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT who FROM row ORDER BY id")).scalars().all()
    assert rows[0] == "holder"
    assert sorted(rows[1:]) == sorted([f"a-{n}" for n in range(50)] + [f"b-{n}" for n in range(50)])


HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_a_turn_never_given_up_is_waited_for_only_as_long_as_sqlite_would(
    engine, tmp_path, monkeypatch
):
    """A process that holds the turn without writing (stuck, or not this app): the writer goes
    on after `WAIT` and writes, since SQLite itself is free."""
    monkeypatch.setattr(locks, "WAIT", 0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(turn(tmp_path))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO row (who) VALUES ('patient')"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT who FROM row")).scalars().all() == ["patient"]
    finally:
        holder.kill()
        holder.communicate()


def test_threads_of_one_process_share_its_turn(engine, tmp_path):
    """Locks on the file belong to the process: a second connection of the same process that
    writes meanwhile does not wait for the turn (SQLite orders the two, as it did before the
    queue), and the turn is let go only when both are done."""
    first, second = engine.connect(), engine.connect()
    try:
        first.execute(text("INSERT INTO row (who) VALUES ('one')"))
        wrote = threading.Thread(
            target=second.execute, args=(text("INSERT INTO row (who) VALUES ('two')"),)
        )
        wrote.start()
        time.sleep(0.2)
        first.commit()
        wrote.join(timeout=10)
        assert not wrote.is_alive()
        assert held_by_someone(turn(tmp_path)), "the second still writes"
        second.commit()
        assert not held_by_someone(turn(tmp_path))
    finally:
        first.close()
        second.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM row")).scalar() == 2
