"""The schema applies to an empty database and applying it again changes nothing."""


def test_schema_applies_twice(mariadb):
    before = mariadb.sql("SHOW TABLES")
    mariadb.apply_sql_file(__import__("harness.mariadb").mariadb.SQL_DIR + "/schema.sql")
    after = mariadb.sql("SHOW TABLES")
    assert before == after
    assert {r[0] for r in after} >= {"schema_version", "domains", "users", "aliases"}
    assert mariadb.sql("SELECT MAX(version) FROM schema_version")[0][0] >= 1
