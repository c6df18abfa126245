-- properties_to_create: the Sync A queue (rule R5). ACTIVE properties (R1) with no
-- non-deleted product_property__c whose snappt_property_id__c is the RDS id. A record in
-- the recycle bin does not count: its property is queued again. Each row carries the R4
-- expected values, so the record is created right and nothing flips on the next Sync B.
-- Sync A writes one upsert per row keyed on snappt_property_id__c (never a second record).
--
-- Columns (what Sync A writes -> Salesforce field)
--   rds_property_id            the RDS id (text, canonical form: R9)
--   snappt_property_id_c       -> snappt_property_id__c, the external id (RDS id as text)
--   property_name              -> Name
--   short_id                   -> Short_ID__c
--   company_id                 -> Company_ID__c (RDS company id as text)
--   city, state                -> City__c, State__c
--   idv_enabled                -> IDV_Enabled__c            (R4 expected)
--   bank_linking_enabled       -> Bank_Linking_Enabled__c   (R4 expected)
--   payroll_enabled            -> Payroll_Enabled__c        (R4 expected)
--   income_insights_enabled    -> Income_Insights_Enabled__c (R4 expected)
--   active_property_count      -> Active_Property_Count__c  (R4 expected)
--   is_multi_property          -> Is_Multi_Property__c      (R4 expected)
--   rds_created_at             -> RDS_Created_At__c (created_at to the millisecond)
-- Columns for people and pilots (never written)
--   has_any_features_enabled   OR of the four expected flags (the plan's P1 marker)
--   sfdc_id, has_valid_sfdc_id the normalised sfdc_id (R2) and 1/0
--   expected_basis             'GROUP' or 'OWN' (see property_expected_values)
--   created_at                 properties.created_at (the plan's pilot SQL filters on it)
--   has_deleted_record         a record for this id sits in the recycle bin
-- The R4 values are those of property_expected_values for an ACTIVE property, computed
-- here for the queued properties alone: the queue is a tenth of the properties, and
-- reading the view would aggregate every sfdc_id group first (R3 below is
-- properties_aggregated_by_sfdc_id restricted to the groups of queued properties). Keep
-- the two in step: a change to R3 or R4 there must be made here too.
CREATE OR REPLACE VIEW properties_to_create AS
WITH live_records AS (
  -- The live records' external ids (R5 matches the exact text of the RDS id).
  SELECT sp.snappt_property_id_c
  FROM salesforce_product_property AS sp
  WHERE COALESCE(sp.is_deleted, FALSE) = FALSE
),
queued AS (
  -- R1 and R5: ACTIVE properties with no live record. The anti-join is a LEFT JOIN kept
  -- where nothing matched: a property with live records is dropped however many there
  -- are, so each property left appears once.
  SELECT
    e.rds_property_id,
    e.snappt_property_id_c,
    e.property_name,
    e.short_id,
    e.company_id,
    e.city,
    e.state,
    e.sfdc_id,
    e.has_valid_sfdc_id,
    e.idv_enabled,
    e.bank_linking_enabled,
    e.payroll_enabled,
    e.income_insights_enabled,
    e.has_any_features_enabled,
    e.created_at,
    e.has_storable_created_at
  FROM rds_properties_normalized AS e
  LEFT JOIN live_records AS lr
    ON lr.snappt_property_id_c = e.snappt_property_id_c
  WHERE e.is_active
    AND lr.snappt_property_id_c IS NULL
),
queued_groups AS (
  -- R3 over the ACTIVE members of the queued properties' sfdc_id groups.
  SELECT
    m.sfdc_id,
    MAX(CASE WHEN m.idv_enabled THEN 1 ELSE 0 END) = 1 AS idv_enabled,
    MAX(CASE WHEN m.bank_linking_enabled THEN 1 ELSE 0 END) = 1 AS bank_linking_enabled,
    MAX(CASE WHEN m.payroll_enabled THEN 1 ELSE 0 END) = 1 AS payroll_enabled,
    MAX(CASE WHEN m.income_insights_enabled THEN 1 ELSE 0 END) = 1
      AS income_insights_enabled,
    MAX(
      CASE
        WHEN m.idv_enabled OR m.bank_linking_enabled OR m.payroll_enabled
          OR m.income_insights_enabled
          THEN 1
        ELSE 0
      END
    ) = 1 AS has_any_features_enabled,
    CAST(COUNT(*) AS INTEGER) AS active_property_count,
    COUNT(*) > 1 AS is_multi_property
  FROM rds_properties_normalized AS m
  WHERE m.is_active
    AND m.has_valid_sfdc_id = 1
    AND m.sfdc_id IN (SELECT q.sfdc_id FROM queued AS q WHERE q.sfdc_id IS NOT NULL)
  GROUP BY m.sfdc_id
)
SELECT
  q.rds_property_id,
  q.snappt_property_id_c,
  q.property_name,
  CAST(q.short_id AS VARCHAR) AS short_id,
  CAST(q.company_id AS VARCHAR) AS company_id,
  q.city,
  q.state,
  -- R4 for an ACTIVE property: its group's values when it has a valid sfdc_id (it is a
  -- member of that group), else its own flags, count 1, not multi.
  CASE WHEN g.sfdc_id IS NOT NULL THEN g.idv_enabled ELSE q.idv_enabled END AS idv_enabled,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.bank_linking_enabled
    ELSE q.bank_linking_enabled
  END AS bank_linking_enabled,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.payroll_enabled
    ELSE q.payroll_enabled
  END AS payroll_enabled,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.income_insights_enabled
    ELSE q.income_insights_enabled
  END AS income_insights_enabled,
  CAST(
    CASE WHEN g.sfdc_id IS NOT NULL THEN g.active_property_count ELSE 1 END AS INTEGER
  ) AS active_property_count,
  COALESCE(g.is_multi_property, FALSE) AS is_multi_property,
  CASE
    WHEN q.has_storable_created_at
      THEN CAST(DATE_TRUNC('millisecond', q.created_at) AS TIMESTAMPTZ)
  END AS rds_created_at,
  CASE
    WHEN g.sfdc_id IS NOT NULL THEN g.has_any_features_enabled
    ELSE q.has_any_features_enabled
  END AS has_any_features_enabled,
  q.sfdc_id,
  q.has_valid_sfdc_id,
  CASE WHEN g.sfdc_id IS NOT NULL THEN 'GROUP' ELSE 'OWN' END AS expected_basis,
  q.created_at,
  dp.snappt_property_id_c IS NOT NULL AS has_deleted_record
FROM queued AS q
LEFT JOIN queued_groups AS g ON g.sfdc_id = q.sfdc_id
-- A join, not EXISTS in the select list: Spark allows EXISTS only in filters.
LEFT JOIN (
  SELECT DISTINCT snappt_property_id_c
  FROM salesforce_product_property
  WHERE is_deleted = TRUE
) AS dp ON dp.snappt_property_id_c = q.snappt_property_id_c
