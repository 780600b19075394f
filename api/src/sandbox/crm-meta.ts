import { zohoTime, type OrgData, type SandboxUser } from './org'

/** Bodies of the CRM metadata endpoints (org, users, roles, profiles, layouts, pipelines, fields, currencies). */

function setupTime(org: OrgData): string {
  return zohoTime(Date.parse('2023-01-09T03:00:00Z') / 1000, org.offsetMinutes)
}

function ref(u: SandboxUser) {
  return { name: u.full_name, id: u.id }
}

export function orgBody(org: OrgData) {
  const admin = org.users.admin
  const home = org.currencies.find((c) => c.code === org.homeCurrency)!
  return {
    org: [
      {
        id: org.orgId,
        company_name: org.companyName,
        alias: null,
        primary_email: admin.email,
        primary_zuid: admin.zuid,
        zgid: org.zgid,
        domain_name: `org${org.zgid}`,
        time_zone: org.timeZone,
        currency: `${home.name} - ${home.code}`,
        iso_code: org.homeCurrency,
        currency_symbol: home.symbol,
        currency_locale: 'en_SG',
        mc_status: true,
        country_code: 'SG',
        country: 'Singapore',
        city: 'Singapore',
        street: '1 Raffles Place',
        zip: '048616',
        state: null,
        phone: '+65 6000 0000',
        mobile: null,
        fax: null,
        website: 'https://sandbox.example.com',
        employee_count: '120',
        description: null,
        type: 'production',
        gapps_enabled: false,
        hipaa_compliance_enabled: false,
        max_per_page: 200,
        privacy_settings: false,
        license_details: {
          paid: true,
          paid_type: 'enterprise',
          paid_expiry: '2030-12-31T00:00:00+08:00',
          users_license_purchased: 25,
          trial_type: null,
          trial_expiry: null,
          trial_action: null,
        },
      },
    ],
  }
}

export function userBody(org: OrgData, u: SandboxUser) {
  const role = org.roles.find((r) => r.id === u.roleId)!
  const profile = org.profiles.find((p) => p.name === u.profile)!
  const managerId = org.reportingTo.get(u.id) ?? null
  const manager = managerId ? org.users.all.find((x) => x.id === managerId)! : null
  const [first, ...last] = u.full_name.split(' ')
  return {
    id: u.id,
    zuid: u.zuid,
    full_name: u.full_name,
    first_name: first,
    last_name: last.join(' '),
    email: u.email,
    status: u.status,
    confirm: true,
    type__s: 'PaidUser',
    role: { name: role.name, id: role.id },
    profile: { name: profile.name, id: profile.id },
    Reporting_To: manager ? ref(manager) : null,
    time_zone: org.timeZone,
    offset: org.offsetMinutes * 60_000,
    locale: 'en_SG',
    country_locale: 'en_SG',
    language: 'en_US',
    country: 'SG',
    Currency: org.homeCurrency,
    created_time: setupTime(org),
    Modified_Time: setupTime(org),
    Modified_By: ref(org.users.admin),
    created_by: ref(org.users.admin),
  }
}

/** Users of a `type` filter, in id order. */
export function usersOfType(org: OrgData, type: string, me: SandboxUser): SandboxUser[] | undefined {
  const all = org.users.all
  const notDeleted = all.filter((u) => u.status !== 'deleted')
  switch (type) {
    case 'AllUsers':
    case 'ConfirmedUsers':
      return notDeleted
    case 'ActiveUsers':
    case 'ActiveConfirmedUsers':
      return all.filter((u) => u.status === 'active')
    case 'DeactiveUsers':
      return all.filter((u) => u.status === 'inactive')
    case 'DeletedUsers':
      return all.filter((u) => u.status === 'deleted')
    case 'AdminUsers':
    case 'ActiveConfirmedAdmins':
      return all.filter((u) => u.profile === 'Administrator' && u.status === 'active')
    case 'NotConfirmedUsers':
      return []
    case 'CurrentUser':
      return [me]
    default:
      return undefined
  }
}

export function rolesBody(org: OrgData) {
  return {
    roles: org.roles.map((r) => {
      const parent = org.roles.find((x) => x.id === r.reportsTo)
      return {
        id: r.id,
        name: r.name,
        display_label: r.name,
        api_name: r.name.replace(/ /g, '_'),
        reporting_to: parent ? { name: parent.name, id: parent.id } : null,
        admin_user: r.reportsTo === null,
        share_with_peers: false,
        forecast_manager: null,
        description: null,
      }
    }),
  }
}

export function profilesBody(org: OrgData) {
  return {
    profiles: org.profiles.map((p) => ({
      id: p.id,
      name: p.name,
      display_label: p.name,
      default: p.name === 'Standard',
      custom: false,
      delete: false,
      type: 'normal_profile',
      description: p.name === 'Administrator' ? 'This profile will have all the permissions.' : null,
      created_time: null,
      modified_time: setupTime(org),
      created_by: null,
      modified_by: ref(org.users.admin),
    })),
  }
}

export function layoutsBody(org: OrgData) {
  return {
    layouts: [
      {
        id: org.layoutId,
        name: 'Standard',
        api_name: 'Standard',
        display_label: 'Standard',
        status: 'active',
        visible: true,
        source: 'crm',
        mode: 'custom',
        show_business_card: false,
        generated_type: 'default',
        created_time: null,
        modified_time: setupTime(org),
        created_for: null,
        created_by: null,
        modified_by: ref(org.users.admin),
        profiles: org.profiles.map((p) => ({ id: p.id, name: p.name, default: true, _default_view: null })),
        sections: [],
      },
    ],
  }
}

export function pipelinesBody(org: OrgData) {
  return {
    pipeline: org.pipelines.map((p) => ({
      id: p.id,
      display_value: p.name,
      actual_value: p.name,
      default: p.default,
      child_available: false,
      parent: null,
      maps: p.stages
        .flatMap((name) => org.stages.filter((x) => x.display_value === name))
        .map((s, i) => ({
          id: s.id,
          display_value: s.display_value,
          actual_value: s.actual_value,
          sequence_number: i + 1,
          forecast_type: s.deal_category,
          forecast_category: { name: s.forecast_category, id: org.forecastCategoryId(s.forecast_category) },
          colour_code: null,
        })),
    })),
  }
}

type FieldDef = [
  api: string,
  label: string,
  data_type: string,
  json_type: string,
  extra?: Record<string, unknown>,
]

export function fieldsBody(org: OrgData) {
  const lookup = (module: string) => ({
    lookup: { module: { api_name: module, id: null }, display_label: module },
  })
  const defs: FieldDef[] = [
    ['Owner', 'Deal Owner', 'ownerlookup', 'jsonobject', { system_mandatory: true }],
    ['Amount', 'Amount', 'currency', 'double', { currency: { precision: 2, rounding_option: 'normal' } }],
    ['Deal_Name', 'Deal Name', 'text', 'string', { system_mandatory: true, length: 120 }],
    ['Closing_Date', 'Closing Date', 'date', 'string', { system_mandatory: true }],
    ['Account_Name', 'Account Name', 'lookup', 'jsonobject', lookup('Accounts')],
    [
      'Stage',
      'Stage',
      'picklist',
      'string',
      {
        system_mandatory: true,
        history_tracking: {
          module: { api_name: 'DealHistory', id: org.id(0, 38_001) },
          duration_configured_field: { api_name: 'Stage_Duration_Calendar_Days', id: org.id(0, 38_002) },
        },
        pick_list_values: org.stages.map((s) => ({
          display_value: s.display_value,
          actual_value: s.actual_value,
          reference_value: s.display_value,
          sequence_number: s.sequence_number,
          probability: s.probability,
          deal_category: s.deal_category,
          forecast_type: s.deal_category,
          forecast_category: { name: s.forecast_category, id: org.forecastCategoryId(s.forecast_category) },
          id: s.id,
          type: 'used',
          colour_code: null,
        })),
      },
    ],
    [
      'Pipeline',
      'Pipeline',
      'picklist',
      'string',
      {
        pick_list_values: org.pipelines.map((p, i) => ({
          display_value: p.name,
          actual_value: p.name,
          sequence_number: i + 1,
          id: p.id,
          type: 'used',
        })),
      },
    ],
    ['Type', 'Type', 'picklist', 'string'],
    ['Probability', 'Probability (%)', 'integer', 'integer'],
    ['Expected_Revenue', 'Expected Revenue', 'currency', 'double', { read_only: true }],
    ['Next_Step', 'Next Step', 'text', 'string'],
    ['Lead_Source', 'Lead Source', 'picklist', 'string'],
    ['Contact_Name', 'Contact Name', 'lookup', 'jsonobject', lookup('Contacts')],
    ['Campaign_Source', 'Campaign Source', 'lookup', 'jsonobject', lookup('Campaigns')],
    [
      'Currency',
      'Currency',
      'picklist',
      'string',
      {
        pick_list_values: org.currencies.map((c, i) => ({
          display_value: `${c.name} - ${c.code}`,
          actual_value: c.code,
          sequence_number: i + 1,
          type: 'used',
        })),
      },
    ],
    ['Exchange_Rate', 'Exchange Rate', 'double', 'double', { decimal_place: 9 }],
    ['Territory', 'Territory', 'multiselectlookup', 'jsonarray'],
    ['Reason_For_Loss__s', 'Reason For Loss', 'picklist', 'string'],
    ['Description', 'Description', 'textarea', 'string'],
    ['Tag', 'Tag', 'text', 'jsonarray'],
    ['Created_By', 'Created By', 'ownerlookup', 'jsonobject', { read_only: true }],
    ['Modified_By', 'Modified By', 'ownerlookup', 'jsonobject', { read_only: true }],
    ['Created_Time', 'Created Time', 'datetime', 'string', { read_only: true }],
    ['Modified_Time', 'Modified Time', 'datetime', 'string', { read_only: true }],
    ['Last_Activity_Time', 'Last Activity Time', 'datetime', 'string', { read_only: true }],
    ['Change_Log_Time__s', 'Change Log Time', 'datetime', 'string', { read_only: true }],
    ['Sales_Cycle_Duration', 'Sales Cycle Duration', 'integer', 'integer', { read_only: true }],
    ['Overall_Sales_Duration', 'Overall Sales Duration', 'integer', 'integer', { read_only: true }],
    ['Lead_Conversion_Time', 'Lead Conversion Time', 'integer', 'integer', { read_only: true }],
    ['Record_Status__s', 'Record Status', 'picklist', 'string', { read_only: true }],
    ['Locked__s', 'Locked', 'boolean', 'boolean', { read_only: true }],
  ]
  return {
    fields: defs.map(([api_name, label, data_type, json_type, extra], i) => ({
      id: org.id(0, 39_001 + i),
      api_name,
      field_label: label,
      display_label: label,
      data_type,
      json_type,
      custom_field: false,
      system_mandatory: false,
      read_only: false,
      visible: true,
      length: 255,
      decimal_place: null,
      pick_list_values: [],
      ...extra,
    })),
  }
}

export function currenciesBody(org: OrgData) {
  const admin = ref(org.users.admin)
  return {
    currencies: org.currencies.map((c, i) => ({
      id: org.id(0, 40_001 + i),
      iso_code: c.code,
      name: `${c.name} - ${c.code}`,
      symbol: c.symbol,
      exchange_rate: org.exchangeRates.get(c.code)!,
      is_base: c.code === org.homeCurrency,
      is_active: true,
      prefix_symbol: true,
      format: {
        decimal_separator: 'Period',
        thousand_separator: 'Comma',
        decimal_places: String(c.decimals),
      },
      created_time: setupTime(org),
      modified_time: setupTime(org),
      created_by: admin,
      modified_by: admin,
    })),
  }
}

export function territoriesBody(org: OrgData) {
  return {
    territories: org.territories.map((t) => ({
      id: t.id,
      name: t.name,
      api_name: t.name,
      manager: null,
      reporting_to: null,
      description: null,
      permission_type: 'read_write_delete',
    })),
  }
}
