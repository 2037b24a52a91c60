package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestMigrateAppliesEachStepOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	steps := []string{
		`CREATE TABLE a (x INTEGER)`,
		`INSERT INTO a VALUES (1)`,
	}
	for range 2 {
		if err := Migrate(ctx, db, "test", steps); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows = %d, %v; want 1 (step applied once)", n, err)
	}
	steps = append(steps, `INSERT INTO a VALUES (2)`)
	if err := Migrate(ctx, db, "test", steps); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM a`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows = %d, %v; want 2", n, err)
	}
	// Another component has its own version.
	if err := Migrate(ctx, db, "other", []string{`CREATE TABLE b (y TEXT)`}); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateFailedStepRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = Migrate(ctx, db, "c", []string{`CREATE TABLE a (x INTEGER)`, `CREATE TABLE broken (`})
	var me *MigrationError
	if !errors.As(err, &me) || me.Step != 2 || me.Component != "c" {
		t.Fatalf("err = %v, want MigrationError at step 2", err)
	}
	var v int
	if err := db.QueryRow(`SELECT version FROM schema_migrations WHERE component = 'c'`).Scan(&v); err != nil || v != 1 {
		t.Fatalf("version = %d, %v; want 1", v, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(ctx, db, "c", []string{`CREATE TABLE a (x)`, `CREATE TABLE b (x)`}); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, "c", []string{`CREATE TABLE a (x)`}); err == nil {
		t.Fatal("an older program used a newer schema")
	}
}

func TestReadOnlySeesWritesAndCannotWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(context.Background(), db, "c", []string{`CREATE TABLE a (x INTEGER)`, `INSERT INTO a VALUES (7)`}); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var x int
	if err := ro.QueryRow(`SELECT x FROM a`).Scan(&x); err != nil || x != 7 {
		t.Fatalf("x = %d, %v", x, err)
	}
	if _, err := ro.Exec(`INSERT INTO a VALUES (8)`); err == nil {
		t.Fatal("read-only handle wrote")
	}
}
