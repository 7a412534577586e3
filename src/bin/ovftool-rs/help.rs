//! Text appended to `--help`: the exit-code table of the top-level help and the examples that
//! end every subcommand's help (and so its man page). Every example is a command that works as
//! written, given the files it names.

/// The top-level help's closing section.
pub const TOP: &str = "\
Exit codes:
  0  success; the input is valid / verified
  1  the input failed validation or verification (bad descriptor, digest mismatch, corrupt disk)
  2  usage error, I/O error, or an output that exists without --force

Examples:
  ovftool-rs info vendor.ova
  ovftool-rs verify --require-signature --json app.ova
  ovftool-rs import --accept-all-eulas vendor.ova ./vms/
  ovftool-rs completions bash > /etc/bash_completion.d/ovftool-rs";

pub const INFO: &str = "\
Examples:
  ovftool-rs info vendor.ova                  # product, hardware, disks, networks, properties
  ovftool-rs info --json app.ovf | jq .properties
  ovftool-rs info disk1.vmdk                  # layout, capacity, allocated bytes";

pub const VALIDATE: &str = "\
Examples:
  ovftool-rs validate app.ovf
  ovftool-rs validate --lax virtualbox-export.ova
  ovftool-rs validate --json app.ova | jq '.diagnostics[]'";

pub const VERIFY: &str = "\
Examples:
  ovftool-rs verify app.ova                                   # structure, manifest, disks
  ovftool-rs verify --require-signature --trust ca.pem app.ova
  ovftool-rs verify --deep --json ./package-folder/";

pub const IMPORT: &str = "\
Examples:
  ovftool-rs import --accept-all-eulas vendor.ova ./vms/
  ovftool-rs import --disk-mode eager-zeroed-thick --net \"VM Network=prod\" \\
      --prop guestinfo.hostname=web1 vendor.ova ./vms/
  ovftool-rs import --spec-out spec.json vendor.ova     # edit spec.json, then:
  ovftool-rs import --options spec.json vendor.ova ./vms/";

pub const EXPORT: &str = "\
Examples:
  ovftool-rs export ./vm/app.vmx app.ova
  ovftool-rs export --target esxi7 --product \"My App\" --product-version 1.2 \\
      --eula EULA.txt ./vm/app.vmx app.ova
  ovftool-rs export --manifest sha512 --sign key.pem ./vm/ ./out/app.ovf";

pub const PACK: &str = "\
Examples:
  ovftool-rs pack ./pkg/ app.ova
  ovftool-rs pack --manifest sha256 --sign key.pem --cert cert.pem ./pkg/app.ovf app.ova";

pub const UNPACK: &str = "\
Examples:
  ovftool-rs unpack app.ova ./pkg/
  ovftool-rs unpack --expand chunked.ova ./pkg/     # join chunks, gunzip members
  curl -sL https://example.com/app.ova | ovftool-rs unpack - ./pkg/";

pub const CONVERT: &str = "\
Examples:
  ovftool-rs convert disk.raw disk.vmdk --to stream-optimized
  ovftool-rs convert disk.vmdk disk.raw --to raw
  ovftool-rs convert cloud.qcow2 disk.vmdk --to stream-optimized
  ovftool-rs convert --to eager-zeroed-thick --adapter-type ide in.vmdk out.vmdk";

pub const EDIT: &str = "\
Examples:
  ovftool-rs edit app.ova app-2.0.ova --product-version 2.0 --eula EULA.txt
  ovftool-rs edit app.ova out.ova --prop guestinfo.hostname=web1 --cpus 4 --memory 8GiB
  ovftool-rs edit app.ova signed.ova --sign key.pem --cert cert.pem";

pub const RETARGET: &str = "\
Examples:
  ovftool-rs retarget vbox-export.ova esxi.ova --for esxi-7.0
  ovftool-rs retarget --dry-run app.ova --for workstation-17     # list the changes only";

pub const DIFF: &str = "\
Examples:
  ovftool-rs diff app-1.0.ova app-2.0.ova          # exit 1 when they differ
  ovftool-rs diff --no-data a.ova b.ova            # descriptors only
  ovftool-rs diff disk-a.vmdk disk-b.vmdk";

pub const COMPLETIONS: &str = "\
Examples:
  ovftool-rs completions bash > ~/.local/share/bash-completion/completions/ovftool-rs
  ovftool-rs completions zsh > \"${fpath[1]}/_ovftool-rs\"
  ovftool-rs completions fish > ~/.config/fish/completions/ovftool-rs.fish";

pub const MAN: &str = "\
Examples:
  ovftool-rs man | man -l -
  ovftool-rs man import | man -l -
  ovftool-rs man --dir /usr/local/share/man/man1 --force   # every page, as ovftool-rs*.1";
