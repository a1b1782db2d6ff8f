"""Who is asking: clinician logins and patient sessions opened from an invite."""
