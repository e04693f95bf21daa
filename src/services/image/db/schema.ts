// The image service's tables. Portable rules (src/db/database.ts): booleans 0/1, ISO text
// timestamps. Properties, tags and members are rows of their own so lists can filter on them.
export type ImageRow = {
  id: string;
  name: string | null;
  /** queued | saving | uploading | importing | active | deactivated | killed */
  status: string;
  visibility: string;
  protected: number;
  os_hidden: number;
  owner: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_ram: number;
  min_disk: number;
  /** Where the store keeps the data (the store's own locator), once active. */
  location: string | null;
  created_at: string;
  updated_at: string;
};

export type ImagePropertyRow = { image_id: string; name: string; value: string };
export type ImageTagRow = { image_id: string; value: string };
export type ImageMemberRow = { image_id: string; member_id: string; status: string; created_at: string; updated_at: string };

export type ImageDB = {
  image: ImageRow;
  image_property: ImagePropertyRow;
  image_tag: ImageTagRow;
  image_member: ImageMemberRow;
};
