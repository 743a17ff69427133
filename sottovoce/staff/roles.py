"""Staff roles and what each is for (DESIGN.md, "Roles")."""

REVIEWER = "reviewer"  # the task it leases, only while leased
SUPERVISOR = "supervisor"  # adjudication and quality; no identities
PRIVACY_OFFICER = "privacy_officer"  # audit log, break-glass
ADMIN = "admin"  # staff and settings; reads no content

ROLES = (REVIEWER, SUPERVISOR, PRIVACY_OFFICER, ADMIN)
