//! Deploy to vSphere against the API simulator (`../shared/vcsim`, built by `.ci/run` into
//! `target/vcsim`, or `$VCSIM`), started on 127.0.0.1 by each test; VMs are read back through
//! the library's own client. Without the simulator a test is skipped with a note, unless `CI` is
//! set (then it fails).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ovftool::net::{HttpClient, TlsPolicy};
use ovftool::vsphere::xml::El;
use ovftool::vsphere::{MoRef, Session};

use crate::support::{
    appliance_members, appliance_stored, bin, samples, tar_bytes, with_manifest, write_folder,
    APPLIANCE_DISK,
};

struct Sim {
    child: Child,
    host_port: String,
    thumbprint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    esx: bool,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim_binary() -> Option<PathBuf> {
    let p = std::env::var_os("VCSIM")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vcsim"));
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the vSphere simulator is required in CI: {} is missing (.ci/run builds it with ../shared/vcsim/build.sh)",
        p.display()
    );
    eprintln!(
        "SKIP: vSphere simulator not found at {} (build it: ../shared/vcsim/build.sh target/vcsim)",
        p.display()
    );
    None
}

fn start(esx: bool) -> Option<Sim> {
    start_with(esx, true)
}

fn start_with(esx: bool, tls: bool) -> Option<Sim> {
    let exe = sim_binary()?;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sim.log");
    let mut cmd = Command::new(exe);
    if tls {
        cmd.arg("-tls");
    }
    if esx {
        cmd.arg("-esx");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the simulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("simulator JSON line");
    let url = v["url"].as_str().unwrap();
    let host_port = url.split('@').nth(1).unwrap().split('/').next().unwrap();
    Some(Sim {
        child,
        host_port: host_port.to_string(),
        thumbprint: v["thumbprint"].as_str().unwrap_or_default().to_string(),
        log,
        _dir: dir,
        esx,
    })
}

impl Sim {
    fn locator(&self, path: &str) -> String {
        format!("vi://user@{}/{path}", self.host_port)
    }

    /// `ovftool-rs import ARGS --thumbprint (the simulator's) SRC vi://user@HOST/PATH`, the
    /// password in `OVFTOOL_PASSWORD`.
    fn import(&self, args: &[&str], src: &Path, path: &str) -> Output {
        Command::new(bin())
            .arg("import")
            .args(args)
            .args(["--thumbprint", &self.thumbprint])
            .arg(src)
            .arg(self.locator(path))
            .env("OVFTOOL_PASSWORD", "pass")
            .output()
            .unwrap()
    }

    /// [`Sim::import`] with `--accept-all-eulas --lax` and `extra`.
    fn deploy(&self, extra: &[&str], src: &Path, path: &str) -> Output {
        let mut args = vec!["--accept-all-eulas", "--lax"];
        args.extend_from_slice(extra);
        self.import(&args, src, path)
    }

    fn session(&self) -> Session {
        let http = HttpClient::new(TlsPolicy::Thumbprint(self.thumbprint.clone())).unwrap();
        let s = Session::connect(http, &self.host_port, true).unwrap();
        s.login("user", "pass").unwrap();
        s
    }

    fn vm(&self, s: &Session, name: &str) -> Option<MoRef> {
        let dc = if self.esx { "ha-datacenter" } else { "DC0" };
        s.find_by_path(&format!("{dc}/vm/{name}")).unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn appliance() -> PathBuf {
    samples().join("appliance.ova")
}

/// The hardware as the API reports it.
fn hardware(s: &Session, vm: &MoRef) -> El {
    s.property(vm, "config.hardware").unwrap().unwrap()
}

fn devices<'a>(hw: &'a El, kind: &'a str) -> Vec<&'a El> {
    hw.all("device")
        .filter(|d| d.xsi_type() == Some(kind))
        .collect()
}

fn nic_backings(hw: &El) -> Vec<(String, String)> {
    hw.all("device")
        .filter(|d| {
            d.xsi_type()
                .is_some_and(|t| t.starts_with("VirtualE1000") || t.starts_with("VirtualVmxnet"))
        })
        .map(|d| {
            let b = d.child("backing").unwrap();
            (
                d.xsi_type().unwrap().to_string(),
                b.xsi_type().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn appliance_deployed_to_vcenter_arrives_with_its_hardware_networks_and_disk_bytes() {
    let Some(sim) = start(false) else { return };
    let out = sim.deploy(
        &[
            "--json",
            "--datastore",
            "LocalDS_0",
            "--net",
            "VM Network=DC0_DVPG0",
            "--net",
            "Management=VM Network",
            "--name",
            "app1",
        ],
        &appliance(),
        "DC0/host/DC0_C0",
    );
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v;
    assert_eq!(d["inventory_path"], "DC0/vm/app1");
    assert_eq!(d["vm"]["type"], "VirtualMachine");
    let size = 77312u64;
    assert_eq!(d["disks"][0]["file"], APPLIANCE_DISK);
    assert_eq!(d["disks"][0]["bytes_sent"], size);
    // Pass-through: the host received exactly the member's bytes.
    assert!(
        sim.log().contains(&format!("transferred {size} bytes")),
        "{}",
        sim.log()
    );

    let s = sim.session();
    let vm = sim.vm(&s, "app1").expect("the VM is in the inventory");
    assert_eq!(vm.value, d["vm"]["value"].as_str().unwrap());
    let hw = hardware(&s, &vm);
    assert_eq!(hw.text_of("numCPU"), Some("2"));
    assert_eq!(hw.text_of("memoryMB"), Some("512"));
    let disks = devices(&hw, "VirtualDisk");
    assert_eq!(disks.len(), 1);
    assert_eq!(disks[0].text_of("capacityInKB"), Some("16384"));
    let mut nics = nic_backings(&hw);
    nics.sort();
    assert_eq!(
        nics,
        [
            (
                "VirtualE1000e".to_string(),
                "VirtualEthernetCardNetworkBackingInfo".to_string()
            ),
            (
                "VirtualVmxnet3".to_string(),
                "VirtualEthernetCardDistributedVirtualPortBackingInfo".to_string()
            ),
        ]
    );
}

#[test]
fn appliance_deployed_to_a_standalone_esxi_host() {
    let Some(sim) = start(true) else { return };
    let out = sim.deploy(&["--name", "esxvm"], &appliance(), "");
    assert!(out.status.success(), "{}", text(&out));
    let s = sim.session();
    assert!(s.is_esx());
    let vm = sim.vm(&s, "esxvm").expect("the VM is on the host");
    let hw = hardware(&s, &vm);
    assert_eq!(hw.text_of("numCPU"), Some("2"));
    assert_eq!(devices(&hw, "VirtualDisk").len(), 1);
}

#[test]
fn every_disk_mode_deploys_and_power_on_and_properties_reach_the_vm() {
    let Some(sim) = start(false) else { return };
    for (i, mode) in ["thin", "thick", "eager-zeroed-thick", "eagerZeroedThick"]
        .iter()
        .enumerate()
    {
        let name = format!("mode{i}");
        let out = sim.deploy(
            &["--disk-mode", mode, "--name", &name],
            &appliance(),
            "DC0/host/DC0_C0/Resources",
        );
        assert!(out.status.success(), "{mode}: {}", text(&out));
    }
    let out = sim.deploy(
        &["--disk-mode", "monolithic-sparse", "--name", "bad"],
        &appliance(),
        "DC0/host/DC0_C0",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = sim.deploy(
        &[
            "--power-on",
            "--prop",
            "guestinfo.hostname=web1",
            "--name",
            "on1",
        ],
        &appliance(),
        "DC0/host/DC0_C0/DC0_C0_H1",
    );
    assert!(out.status.success(), "{}", text(&out));
    let s = sim.session();
    let vm = sim.vm(&s, "on1").unwrap();
    let state = s.property(&vm, "runtime.powerState").unwrap().unwrap();
    assert_eq!(state.text.trim(), "poweredOn");
    let extra = s.property(&vm, "config.extraConfig").unwrap().unwrap();
    assert!(
        extra
            .children
            .iter()
            .any(|o| o.text_of("key") == Some("guestinfo.hostname")
                && o.text_of("value") == Some("web1")),
        "{extra:?}"
    );
}

#[test]
fn wrong_password_is_refused_without_printing_it() {
    let Some(sim) = start(false) else { return };
    let out = Command::new(bin())
        .args(["import", "--thumbprint", &sim.thumbprint])
        .arg(appliance())
        .arg(format!(
            "vi://user:s3cr%40t@{}/DC0/host/DC0_C0",
            sim.host_port
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("wrong user name or password"), "{t}");
    assert!(!t.contains("s3cr"), "the password leaked: {t}");
}

#[test]
fn unknown_or_wrong_certificate_is_refused_with_its_thumbprint() {
    let Some(sim) = start(false) else { return };
    // Not in the system roots: refused, with the thumbprint to pin.
    let out = Command::new(bin())
        .args(["import", "--accept-all-eulas"])
        .arg(appliance())
        .arg(sim.locator("DC0/host/DC0_C0"))
        .env("OVFTOOL_PASSWORD", "pass")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains(&sim.thumbprint), "{}", text(&out));
    // A pinned thumbprint that is not the server's.
    let out = Command::new(bin())
        .args(["import", "--accept-all-eulas", "--thumbprint"])
        .arg("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33")
        .arg(appliance())
        .arg(sim.locator("DC0/host/DC0_C0"))
        .env("OVFTOOL_PASSWORD", "pass")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains(&sim.thumbprint), "{}", text(&out));
    // --no-ssl-verify connects, with a warning.
    let out = Command::new(bin())
        .args([
            "import",
            "--accept-all-eulas",
            "--lax",
            "--no-ssl-verify",
            "--name",
            "nv",
        ])
        .arg(appliance())
        .arg(sim.locator("DC0/host/DC0_C0"))
        .env("OVFTOOL_PASSWORD", "pass")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: --no-ssl-verify"));
}

#[test]
fn incomplete_locators_list_what_can_follow() {
    let Some(sim) = start(false) else { return };
    let out = sim.deploy(&[], &appliance(), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("DC0 (Datacenter)"), "{}", text(&out));
    let out = sim.deploy(&[], &appliance(), "DC0/host/");
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains("DC0_C0 (ClusterComputeResource)") && t.contains("DC0_H0"),
        "{t}"
    );
    let out = sim.deploy(&[], &appliance(), "DC0/host/NoSuchCluster");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("\"NoSuchCluster\" not found in DC0/host"),
        "{}",
        text(&out)
    );
}

#[test]
fn unknown_datastore_network_or_folder_names_what_exists() {
    let Some(sim) = start(false) else { return };
    let cases: [(&[&str], &str); 4] = [
        (&["--datastore", "nods"], "LocalDS_0"),
        (&["--net", "VM Network=nonet"], "DC0_DVPG0"),
        (&["--net", "NoSuchOvfNet=VM Network"], "Management"),
        (&["--vm-folder", "nofolder"], "nofolder"),
    ];
    for (args, named) in cases {
        let out = sim.deploy(args, &appliance(), "DC0/host/DC0_C0");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(named), "{args:?}: {}", text(&out));
    }
    // Nothing was created.
    let s = sim.session();
    assert!(sim.vm(&s, "sample-appliance").is_none());
}

/// The appliance with one byte of its disk member flipped (the manifest then disagrees).
fn tampered(dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(appliance()).unwrap();
    let mut ar = tar::Archive::new(std::io::Cursor::new(bytes.clone()));
    let mut at = None;
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == APPLIANCE_DISK {
            at = Some(e.raw_file_position() as usize + 40_000);
        }
    }
    let at = at.unwrap();
    bytes[at] ^= 0x55;
    let p = dir.join("tampered.ova");
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn tampered_package_aborts_the_lease_and_leaves_no_vm() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = sim.deploy(
        &["--name", "evil"],
        &tampered(dir.path()),
        "DC0/host/DC0_C0",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("the VM was removed"), "{}", text(&out));
    let s = sim.session();
    assert!(sim.vm(&s, "evil").is_none(), "a half-deployed VM is left");
}

/// An OVA of the appliance's descriptor with a 16 MiB random streamOptimized disk, no manifest.
fn big_ova(dir: &Path) -> Vec<u8> {
    ova_with_disk(dir, "stream-optimized")
}

/// An OVA of the appliance's descriptor with a 16 MiB random disk of `layout`, no manifest.
fn ova_with_disk(dir: &Path, layout: &str) -> Vec<u8> {
    let raw = dir.join("d.raw");
    let mut data = vec![0u8; 16 << 20];
    crate::support::Rng(7).fill(&mut data);
    std::fs::write(&raw, &data).unwrap();
    let vmdk = dir.join("d.vmdk");
    let out = Command::new(bin())
        .args(["convert", "-q", "--to", layout, "--compression-level", "0"])
        .arg(&raw)
        .arg(&vmdk)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let disk = std::fs::read(&vmdk).unwrap();
    let mut desc = String::from_utf8(appliance_members().remove(0).1).unwrap();
    if layout != "stream-optimized" {
        desc = desc.replace("vmdk.html#streamOptimized", "vmdk.html#sparse");
    }
    let desc = desc.replace(
        "ovf:size=\"77312\"",
        &format!("ovf:size=\"{}\"", disk.len()),
    );
    tar_bytes(&[
        ("sample-appliance.ovf".to_string(), desc.into_bytes()),
        (APPLIANCE_DISK.to_string(), disk),
    ])
}

/// Starts a deploy of `ova` from standard input as VM `name`, sends the descriptor and half
/// the disk, and returns once the VM exists: its lease is open and the upload waits for the
/// rest of the package (on the returned stdin).
fn deploy_half_sent(
    sim: &Sim,
    name: &str,
    ova: &[u8],
) -> (std::process::Child, std::process::ChildStdin) {
    let mut child = Command::new(bin())
        .args([
            "import",
            "--lax",
            "--accept-all-eulas",
            "--name",
            name,
            "--thumbprint",
        ])
        .arg(&sim.thumbprint)
        .arg("-")
        .arg(sim.locator("DC0/host/DC0_C0"))
        .env("OVFTOOL_PASSWORD", "pass")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&ova[..ova.len() / 2]).unwrap();
    let s = sim.session();
    let t0 = Instant::now();
    while sim.vm(&s, name).is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the deploy did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    (child, stdin)
}

#[test]
fn server_going_away_mid_upload_is_a_clear_error() {
    let Some(mut sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let ova = big_ova(dir.path());
    let half = ova.len() / 2;
    let (child, mut stdin) = deploy_half_sent(&sim, "gone", &ova);
    let _ = sim.child.kill();
    let _ = sim.child.wait();
    let _ = stdin.write_all(&ova[half..]);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("disk upload") || err.contains(APPLIANCE_DISK),
        "{err}"
    );
}

#[test]
fn interrupted_deploy_aborts_the_lease_and_leaves_no_vm() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let ova = big_ova(dir.path());
    let (child, stdin) = deploy_half_sent(&sim, "stopped", &ova);
    let s = sim.session();
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        sim.vm(&s, "stopped").is_none(),
        "an interrupted deploy left its VM: {}",
        text(&out)
    );
}

/// Serves `body` to every GET on 127.0.0.1 (a tiny HTTP/1.0 server thread).
fn serve(body: Vec<u8>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut req = [0u8; 4096];
            let _ = c.read(&mut req);
            let _ = write!(
                c,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(&body);
        }
    });
    format!("http://{addr}/appliance.ova")
}

#[test]
fn ova_at_an_http_url_imports_verifies_and_deploys() {
    let url = serve(std::fs::read(appliance()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["import", "--accept-all-eulas", &url])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir
        .path()
        .join("sample-appliance/sample-appliance.vmx")
        .is_file());
    let out = Command::new(bin()).args(["verify", &url]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(bin())
        .args(["--json", "info", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sample-appliance"));
    // A damaged body fails verification (exit 1), as a local file would.
    let mut bad = std::fs::read(appliance()).unwrap();
    let n = bad.len();
    bad[n - 2048] ^= 1;
    let bad_url = serve(bad);
    let out = Command::new(bin())
        .args(["verify", &bad_url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let Some(sim) = start(false) else { return };
    let out = sim.deploy(&["--name", "fromurl"], Path::new(&url), "DC0/host/DC0_C0");
    assert!(out.status.success(), "{}", text(&out));
    assert!(sim.vm(&sim.session(), "fromurl").is_some());
}

#[test]
fn corpus_ovas_deploy_or_fail_cleanly_leaving_no_vm() {
    let Some(corpus) = crate::support::corpus() else {
        return;
    };
    let Some(sim) = start(false) else { return };
    let mut ovas: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![corpus];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "ova") {
                ovas.push(p);
            }
        }
    }
    ovas.sort();
    assert!(!ovas.is_empty());
    let s = sim.session();
    for (i, ova) in ovas.iter().enumerate() {
        let name = format!("corpus{i}");
        let out = sim.deploy(&["--name", &name], ova, "DC0/host/DC0_C0");
        let file = ova.file_name().unwrap().to_string_lossy();
        if file.starts_with("tdAppliance1") {
            // VirtualBox's ovftool-made and own packages: plain and gzip disks, signed ones.
            assert!(out.status.success(), "{file}: {}", text(&out));
            assert!(sim.vm(&s, &name).is_some(), "{file}");
        } else {
            assert!(
                matches!(out.status.code(), Some(0..=2)),
                "{file}: {}",
                text(&out)
            );
            if !out.status.success() {
                assert!(
                    sim.vm(&s, &name).is_none(),
                    "{file}: a failed deploy left a VM"
                );
            }
        }
    }
}

#[test]
fn disk_in_another_layout_is_converted_to_stream_optimized_on_the_way() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let ova = dir.path().join("sparse.ova");
    std::fs::write(&ova, ova_with_disk(dir.path(), "monolithic-sparse")).unwrap();
    let out = sim.deploy(&["--json", "--name", "conv"], &ova, "DC0/host/DC0_C0");
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = v["disks"][0]["bytes_sent"].as_u64().unwrap();
    assert!(sent > 16 << 20, "{sent}");
    assert!(
        sim.log().contains(&format!("transferred {sent} bytes")),
        "{}",
        sim.log()
    );
}

#[test]
fn chunked_and_gzip_members_are_joined_and_inflated_on_the_way() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = sim.session();
    for (i, (gzip, chunk)) in [(true, None), (false, Some(30_000)), (true, Some(600))]
        .into_iter()
        .enumerate()
    {
        let members = appliance_stored(None, gzip, chunk);
        if let Some(c) = chunk {
            assert!(
                members.len() > 4,
                "{c}: the disk should span several chunks"
            );
        }
        let ova = dir.path().join(format!("s{i}.ova"));
        std::fs::write(&ova, tar_bytes(&members)).unwrap();
        let name = format!("stored{i}");
        let out = sim.deploy(&["--json", "--name", &name], &ova, "DC0/host/DC0_C0");
        assert!(out.status.success(), "{gzip} {chunk:?}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The host receives the disk itself: chunks joined, gzip undone.
        assert_eq!(v["disks"][0]["file"], APPLIANCE_DISK);
        assert_eq!(v["disks"][0]["bytes_sent"], 77312, "{gzip} {chunk:?}");
        let hw = hardware(&s, &sim.vm(&s, &name).expect("deployed"));
        assert_eq!(
            devices(&hw, "VirtualDisk")[0].text_of("capacityInKB"),
            Some("16384")
        );
        // Every digest is checked: a flipped byte in the middle chunk (its manifest line then
        // disagrees) fails the deploy, and no VM is left.
        let mut bad = members.clone();
        let k = bad.len() / 2 + 1;
        let len = bad[k].1.len();
        bad[k].1[len / 2] ^= 0x01;
        let ova = dir.path().join(format!("bad{i}.ova"));
        std::fs::write(&ova, tar_bytes(&bad)).unwrap();
        let out = sim.deploy(&["--name", "badstored"], &ova, "DC0/host/DC0_C0");
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{gzip} {chunk:?}: {}",
            text(&out)
        );
        assert!(
            sim.vm(&s, "badstored").is_none(),
            "{gzip} {chunk:?}: a VM is left"
        );
    }
    let transferred = sim.log().matches("transferred 77312 bytes").count();
    assert!(transferred >= 3, "{}", sim.log());
}

#[test]
fn package_folder_deploys_from_its_ovf_or_the_folder() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    write_folder(&plain, &appliance_members());
    let chunked = dir.path().join("chunked");
    write_folder(&chunked, &appliance_stored(None, true, Some(700)));
    let s = sim.session();
    for (src, name) in [
        (plain.join("sample-appliance.ovf"), "dir1"),
        (plain.clone(), "dir2"),
        (chunked.join("sample-appliance.ovf"), "dir3"),
    ] {
        let out = sim.deploy(&["--json", "--name", name], &src, "DC0/host/DC0_C0");
        assert!(out.status.success(), "{}: {}", src.display(), text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["disks"][0]["bytes_sent"], 77312);
        assert!(sim.vm(&s, name).is_some());
    }
    // A file of the folder that does not match the manifest: refused, nothing left.
    let disk = plain.join(APPLIANCE_DISK);
    let mut bytes = std::fs::read(&disk).unwrap();
    bytes[40_000] ^= 0x55;
    std::fs::write(&disk, bytes).unwrap();
    let out = sim.deploy(&["--name", "dirbad"], &plain, "DC0/host/DC0_C0");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(sim.vm(&s, "dirbad").is_none());
}

/// Serves the files of `dir` to GETs on 127.0.0.1 (404 for anything else), counting requests;
/// returns the base URL.
fn serve_dir(dir: PathBuf) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let path = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let path = path.replace("%20", " ");
            match std::fs::read(dir.join(&path)) {
                Ok(body) if !path.contains("..") && !path.is_empty() => {
                    let _ = write!(
                        c,
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = c.write_all(&body);
                }
                _ => {
                    let _ = write!(c, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            }
        }
    });
    format!("http://{addr}")
}

#[test]
fn ovf_at_an_http_url_is_read_with_its_files_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    write_folder(&root.join("plain"), &appliance_members());
    write_folder(
        &root.join("stored"),
        &appliance_stored(None, true, Some(500)),
    );
    let mut missing = appliance_members();
    missing.retain(|(n, _)| n != APPLIANCE_DISK);
    write_folder(&root.join("missing"), &missing);
    let base = serve_dir(root);
    for kind in ["plain", "stored"] {
        let url = format!("{base}/{kind}/sample-appliance.ovf");
        let out = Command::new(bin()).args(["verify", &url]).output().unwrap();
        assert!(out.status.success(), "{kind}: {}", text(&out));
        let out = Command::new(bin())
            .args(["--json", "info", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("sample-appliance"));
    }
    let target = dir.path().join("vms");
    let out = Command::new(bin())
        .args(["import", "--accept-all-eulas"])
        .arg(format!("{base}/plain/sample-appliance.ovf"))
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(target
        .join("sample-appliance/sample-appliance.vmx")
        .is_file());
    // A referenced file the server does not have: verification fails (exit 1).
    let out = Command::new(bin())
        .args(["verify", &format!("{base}/missing/sample-appliance.ovf")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(APPLIANCE_DISK), "{}", text(&out));

    let Some(sim) = start(false) else { return };
    let s = sim.session();
    for (kind, name) in [("plain", "urlovf1"), ("stored", "urlovf2")] {
        let url = format!("{base}/{kind}/sample-appliance.ovf");
        let out = sim.deploy(
            &["--json", "--name", name],
            Path::new(&url),
            "DC0/host/DC0_C0",
        );
        assert!(out.status.success(), "{kind}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["disks"][0]["bytes_sent"], 77312);
        assert!(sim.vm(&s, name).is_some());
    }
    let url = format!("{base}/missing/sample-appliance.ovf");
    let out = sim.deploy(
        &["--name", "urlmissing"],
        Path::new(&url),
        "DC0/host/DC0_C0",
    );
    assert!(matches!(out.status.code(), Some(1 | 2)), "{}", text(&out));
    assert!(sim.vm(&s, "urlmissing").is_none());
}

#[test]
fn a_deployment_option_selects_its_hardware() {
    let Some(sim) = start(false) else { return };
    let m = appliance_members();
    let desc = String::from_utf8(m[0].1.clone()).unwrap();
    let options = r#"<DeploymentOptionSection>
    <Info>Sizes</Info>
    <Configuration ovf:id="small" ovf:default="true"><Label>Small</Label><Description>2 CPUs</Description></Configuration>
    <Configuration ovf:id="large"><Label>Large</Label><Description>4 CPUs</Description></Configuration>
  </DeploymentOptionSection>
  <VirtualSystem "#;
    let large_cpu = r#"<Item ovf:configuration="large">
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>4 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>101</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>4</rasd:VirtualQuantity>
      </Item>
      <Item ovf:configuration="small">
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>"#;
    let desc = desc.replacen("<VirtualSystem ", options, 1).replacen(
        "<Item>\n        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n        <rasd:Description>Number of Virtual CPUs</rasd:Description>",
        large_cpu,
        1,
    );
    assert!(desc.contains("ovf:id=\"large\"") && desc.contains("InstanceID>101<"));
    let files = m.into_iter().filter(|(n, _)| n == APPLIANCE_DISK).collect();
    let dir = tempfile::tempdir().unwrap();
    let ova = dir.path().join("options.ova");
    std::fs::write(
        &ova,
        tar_bytes(&with_manifest("sample-appliance.ovf", &desc, files)),
    )
    .unwrap();
    let s = sim.session();
    for (option, name, cpus) in [(None, "optdefault", "2"), (Some("large"), "optlarge", "4")] {
        let mut args = vec!["--name", name];
        if let Some(o) = option {
            args.extend(["--deployment-option", o]);
        }
        let out = sim.deploy(&args, &ova, "DC0/host/DC0_C0");
        assert!(out.status.success(), "{option:?}: {}", text(&out));
        let hw = hardware(&s, &sim.vm(&s, name).unwrap());
        assert_eq!(hw.text_of("numCPU"), Some(cpus), "{option:?}");
    }
    let out = sim.deploy(
        &["--name", "optbad", "--deployment-option", "huge"],
        &ova,
        "DC0/host/DC0_C0",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("small, large"), "{}", text(&out));
    assert!(sim.vm(&s, "optbad").is_none());
}

#[test]
fn plain_http_api_endpoint_deploys_through_the_library() {
    use ovftool::vsphere::deploy::{deploy_reader, DeployOptions, Target};
    use ovftool::vsphere::Locator;
    let Some(sim) = start_with(false, false) else {
        return;
    };
    let target = Target {
        locator: Locator::parse(&sim.locator("DC0/host/DC0_C0")).unwrap(),
        password: "pass".into(),
        tls: TlsPolicy::System,
        https: false,
    };
    let opts = DeployOptions {
        name: Some("plainhttp".into()),
        lax: true,
        accept_all_eulas: true,
        networks: vec![("VM Network".into(), "DC0_DVPG0".into())],
        ..Default::default()
    };
    let mut f = std::fs::File::open(appliance()).unwrap();
    let r = deploy_reader(&mut f, "appliance.ova", &target, &opts).unwrap();
    assert_eq!(r.inventory_path, "DC0/vm/plainhttp");
    assert_eq!(r.disks[0].bytes_sent, 77312);
    assert!(r.verification.passed());
    let http = HttpClient::new(TlsPolicy::System).unwrap();
    let s = Session::connect(http, &sim.host_port, false).unwrap();
    s.login("user", "pass").unwrap();
    let vm = s.find_by_path("DC0/vm/plainhttp").unwrap().unwrap();
    let hw = hardware(&s, &vm);
    assert_eq!(hw.text_of("memoryMB"), Some("512"));
    assert!(nic_backings(&hw)
        .iter()
        .any(|(_, b)| b == "VirtualEthernetCardDistributedVirtualPortBackingInfo"));
}

#[test]
fn the_password_is_never_printed_logged_or_in_json() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("deploy.log");
    let secret = "Pa55-w0rd-xyz";
    let loc = format!("vi://user:{secret}@{}/DC0/host/DC0_C0", sim.host_port);
    // A wrong password from the locator and one from the environment: refused, never shown.
    for (locator, env_pw) in [
        (loc.clone(), None),
        (sim.locator("DC0/host/DC0_C0"), Some(secret)),
    ] {
        let mut cmd = Command::new(bin());
        cmd.args(["--json", "-vv", "--log-file"])
            .arg(&log)
            .args([
                "import",
                "--accept-all-eulas",
                "--lax",
                "--thumbprint",
                &sim.thumbprint,
            ])
            .arg(appliance())
            .arg(&locator);
        match env_pw {
            Some(p) => cmd.env("OVFTOOL_PASSWORD", p),
            None => cmd.env_remove("OVFTOOL_PASSWORD"),
        };
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(!text(&out).contains(secret), "leaked: {}", text(&out));
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains(secret), "leaked in the log: {logged}");
    // A successful deploy with the right password in the locator.
    let loc = format!("vi://user:pass@{}/DC0/host/DC0_C0", sim.host_port);
    let out = Command::new(bin())
        .args(["--json", "-vv", "--log-file"])
        .arg(&log)
        .args([
            "import",
            "--accept-all-eulas",
            "--lax",
            "--name",
            "pwok",
            "--thumbprint",
            &sim.thumbprint,
        ])
        .arg(appliance())
        .arg(&loc)
        .env_remove("OVFTOOL_PASSWORD")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let all = format!(
        "{}{}",
        text(&out),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(!all.contains("user:pass@"), "leaked: {all}");
    assert!(!all.contains("<password>pass"), "leaked: {all}");
}

#[test]
fn unsupported_device_fails_without_lax_and_is_a_warning_with_it() {
    let Some(sim) = start(false) else { return };
    // The appliance has a SATA controller, which this simulator reports as OvfUnsupportedType.
    let strict = sim.import(
        &["--accept-all-eulas", "--name", "strict"],
        &appliance(),
        "DC0/host/DC0_C0",
    );
    // Refused like an unknown device in validate and import: the input fails (exit 1).
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict));
    assert!(
        text(&strict).contains("OvfUnsupportedType"),
        "{}",
        text(&strict)
    );
    assert!(
        text(&strict).contains("[ovf-unsupported-type]"),
        "{}",
        text(&strict)
    );
    assert!(text(&strict).contains("--lax"), "{}", text(&strict));
    let strict_json = sim.import(
        &["--json", "--accept-all-eulas", "--name", "strict"],
        &appliance(),
        "DC0/host/DC0_C0",
    );
    assert_eq!(strict_json.status.code(), Some(1), "{}", text(&strict_json));
    let v: serde_json::Value = serde_json::from_slice(&strict_json.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "unsupported", "{v}");
    let s = sim.session();
    assert!(sim.vm(&s, "strict").is_none(), "a refused import left a VM");
    let lax = sim.deploy(
        &["--json", "--name", "laxvm"],
        &appliance(),
        "DC0/host/DC0_C0",
    );
    assert!(lax.status.success(), "{}", text(&lax));
    let v: serde_json::Value = serde_json::from_slice(&lax.stdout).unwrap();
    let unsupported: Vec<&serde_json::Value> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "ovf-unsupported-type")
        .collect();
    assert_eq!(unsupported.len(), 1, "{v}");
    let w = unsupported[0];
    assert_eq!(w["severity"], "warning", "{v}");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("OvfUnsupportedType"),
        "{v}"
    );
    // The simulator names the SATA controller's item.
    assert!(w["subject"].as_str().unwrap().contains("InstanceID"), "{v}");
    assert!(
        !v["warnings"].to_string().contains("deploy-note"),
        "every warning has its own code: {v}"
    );
    assert!(sim.vm(&s, "laxvm").is_some());
}

#[test]
fn vm_folder_places_the_vm_and_ovftool_spellings_are_accepted() {
    let Some(sim) = start(false) else { return };
    let s = sim.session();
    let vmf = s.find_by_path("DC0/vm").unwrap().unwrap();
    s.call(
        "CreateFolder",
        &vmf,
        &ovftool::vsphere::client::el("name", "Prod"),
    )
    .unwrap();
    let out = sim.deploy(
        &[
            "--json",
            "--vmFolder",
            "Prod",
            "-ds=LocalDS_0",
            "--name",
            "infolder",
        ],
        &appliance(),
        "DC0/host/DC0_C0",
    );
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inventory_path"], "DC0/vm/Prod/infolder", "{v}");
    let vm = s
        .find_by_path("DC0/vm/Prod/infolder")
        .unwrap()
        .expect("the VM is in the folder");
    assert_eq!(vm.value, v["vm"]["value"].as_str().unwrap());
    assert!(sim.vm(&s, "infolder").is_none(), "not in the top vm folder");
}

#[test]
fn lease_progress_is_reported_before_the_lease_is_completed() {
    let Some(sim) = start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("deploy.log");
    let out = Command::new(bin())
        .args(["-vv", "--log-file"])
        .arg(&log)
        .args(["import", "--accept-all-eulas", "--lax", "--name", "prog"])
        .args(["--thumbprint", &sim.thumbprint])
        .arg(appliance())
        .arg(sim.locator("DC0/host/DC0_C0"))
        .env("OVFTOOL_PASSWORD", "pass")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let logged = std::fs::read_to_string(&log).unwrap();
    let at = |what: &str| {
        logged
            .find(what)
            .unwrap_or_else(|| panic!("{what} not in the log: {logged}"))
    };
    let import = at("ImportVApp");
    let progress = at("HttpNfcLeaseProgress");
    let complete = at("HttpNfcLeaseComplete");
    assert!(import < progress && progress < complete, "{logged}");
    assert!(logged.contains("import lease progress"), "{logged}");
}
