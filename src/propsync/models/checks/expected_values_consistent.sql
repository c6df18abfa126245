-- R4 invariants hold for every property: multi iff count > 1, count 0 means all flags off, has_any is the OR of the flags, ACTIVE means count >= 1.
SELECT rds_property_id, expected_basis, active_property_count, is_multi_property
FROM property_expected_values
WHERE is_multi_property IS DISTINCT FROM (active_property_count > 1)
  OR (active_property_count = 0
    AND (idv_enabled OR bank_linking_enabled OR payroll_enabled OR income_insights_enabled))
  OR has_any_features_enabled IS DISTINCT FROM
    (idv_enabled OR bank_linking_enabled OR payroll_enabled OR income_insights_enabled)
  OR (is_active AND active_property_count < 1)
  OR active_property_count IS NULL
