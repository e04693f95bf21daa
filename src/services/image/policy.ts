// The image service's default policy (oslo.policy syntax; operators override single rules in
// the file named by image.policyFile). Which images a caller can *see* (public, own, shared
// with them, community) is decided in app/visibility.ts; these rules decide what a caller may
// *do*: members of the owning project manage their images, admins everything, and making
// an image public is an admin's call, as in Glance.
export const imagePolicy: Record<string, string> = {
  context_is_admin: 'role:admin',
  owner_member: 'role:member and project_id:%(target.image.owner)s',
  admin_or_owner: 'rule:context_is_admin or rule:owner_member',
  reader: 'rule:context_is_admin or role:reader',

  'image:add_image': 'rule:context_is_admin or (role:member and project_id:%(target.image.owner)s)',
  'image:get_image': 'rule:reader',
  'image:get_images': 'rule:reader',
  'image:modify_image': 'rule:admin_or_owner',
  'image:publicize_image': 'rule:context_is_admin',
  'image:communitize_image': 'rule:admin_or_owner',
  'image:delete_image': 'rule:admin_or_owner',
  'image:upload_image': 'rule:admin_or_owner',
  'image:download_image': 'rule:reader',
  'image:import_image': 'rule:admin_or_owner',
  'image:deactivate': 'rule:admin_or_owner',
  'image:reactivate': 'rule:admin_or_owner',
  'image:add_member': 'rule:admin_or_owner',
  'image:delete_member': 'rule:admin_or_owner',
  'image:get_members': 'rule:reader',
  'image:get_member': 'rule:reader',
  'image:modify_member': 'rule:context_is_admin or (role:member and project_id:%(target.member.member_id)s)',
  'image:get_usage': 'rule:reader',
};
