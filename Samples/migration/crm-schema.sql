-- A second system with its own schema: a CRM that names things differently and generates its
-- own keys. DataPort imports the sample company's bundles into it (crm-stores.json maps the
-- canonical datasets and fields onto these tables and columns).
BEGIN;
CREATE TABLE crm_people (
  person_no INTEGER PRIMARY KEY AUTOINCREMENT,
  mail TEXT NOT NULL,
  display_name TEXT,
  signed_up TEXT
);
CREATE TABLE crm_bills (
  bill_no INTEGER PRIMARY KEY AUTOINCREMENT,
  person_no INTEGER NOT NULL REFERENCES crm_people(person_no),
  reference TEXT NOT NULL,
  bill_date TEXT NOT NULL,
  amount_due TEXT NOT NULL,
  currency_code TEXT NOT NULL
);
CREATE TABLE crm_bill_payments (
  payment_no INTEGER PRIMARY KEY AUTOINCREMENT,
  bill_no INTEGER NOT NULL REFERENCES crm_bills(bill_no),
  received TEXT NOT NULL,
  amount TEXT NOT NULL,
  channel TEXT
);
CREATE TABLE crm_newsletters (
  person_no INTEGER NOT NULL REFERENCES crm_people(person_no),
  list_name TEXT NOT NULL,
  since TEXT NOT NULL,
  opted_in INTEGER NOT NULL
);
-- The CRM already holds customers of its own: imported keys must not collide with theirs.
INSERT INTO crm_people (mail, display_name, signed_up) VALUES ('existing@crm.example', 'Existing Customer', '2019-01-01T00:00:00Z');
INSERT INTO crm_bills (person_no, reference, bill_date, amount_due, currency_code) VALUES (1, 'CRM-1', '2019-02-01', '10.00', 'EUR');
COMMIT;
