DROP TABLE alumni_consent_changes;
