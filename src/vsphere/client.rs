//! The vSphere Web Services (SOAP, `urn:vim25`) calls that a deploy makes, as ovftool and govc
//! make them: `RetrieveServiceContent`, `Login`/`Logout`, `FindByInventoryPath`,
//! `RetrievePropertiesEx`, `CreateImportSpec`, `ImportVApp`, the `HttpNfcLease` calls,
//! `PowerOnVM_Task`, `Destroy_Task`, and the upload of disks to the lease's device URLs.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::xml::{self, escape, El};
use crate::error::{Error, ErrorKind, Result};
use crate::net::HttpClient;

/// Largest SOAP answer read (an inventory listing or an import spec is far smaller).
pub const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// The API version spoken (`SOAPAction: urn:vim25/6.5`): every call used exists since 5.x.
const API_VERSION: &str = "6.5";

/// A managed object reference (`<obj type="VirtualMachine">vm-42</obj>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MoRef {
    /// The managed object type (`VirtualMachine`, `Folder`...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id (`vm-42`).
    pub value: String,
}

impl MoRef {
    /// Reads a reference from an element (`type` attribute, text value).
    pub fn from_el(e: &El) -> Option<MoRef> {
        let kind = e.plain_attr("type")?.to_string();
        let value = e.text.trim().to_string();
        (!value.is_empty()).then_some(MoRef { kind, value })
    }

    /// The reference as an element named `tag`.
    pub fn xml(&self, tag: &str) -> String {
        format!(
            "<{tag} type=\"{}\">{}</{tag}>",
            escape(&self.kind),
            escape(&self.value)
        )
    }
}

impl std::fmt::Display for MoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// A SOAP fault: its type (`InvalidLogin`) and message.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The fault type from the detail (`InvalidLogin`, `ManagedObjectNotFound`...).
    pub kind: String,
    /// The server's message.
    pub message: String,
}

/// A logged-in (or not yet) connection to a vCenter or ESXi host.
#[derive(Debug)]
pub struct Session {
    http: HttpClient,
    /// `https://host:port` (no credentials).
    base: String,
    cookie: Mutex<Option<String>>,
    /// The `ServiceContent` answer.
    pub content: El,
}

fn body(method: &str, this: &MoRef, args: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
<soapenv:Body><{method} xmlns=\"urn:vim25\">{}{args}</{method}></soapenv:Body></soapenv:Envelope>",
        this.xml("_this")
    )
}

/// `<tag>text</tag>`, escaped.
pub fn el(tag: &str, text: &str) -> String {
    format!("<{tag}>{}</{tag}>", escape(text))
}

impl Session {
    /// Connects to `https://host:port/sdk` (or `http://` when `tls` is false) and reads the
    /// service content. No login yet.
    ///
    /// # Errors
    /// I/O and TLS errors (an untrusted certificate names its thumbprint); a server that does
    /// not answer as vSphere.
    pub fn connect(http: HttpClient, host_port: &str, tls: bool) -> Result<Session> {
        let scheme = if tls { "https" } else { "http" };
        let mut s = Session {
            http,
            base: format!("{scheme}://{host_port}"),
            cookie: Mutex::new(None),
            content: El::default(),
        };
        let si = MoRef {
            kind: "ServiceInstance".into(),
            value: "ServiceInstance".into(),
        };
        s.content = s.call("RetrieveServiceContent", &si, "")?;
        if s.content.child("rootFolder").is_none() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{}: not a vSphere API endpoint", s.base),
            ));
        }
        Ok(s)
    }

    /// `https://host:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// A service content reference (`searchIndex`, `ovfManager`...).
    ///
    /// # Errors
    /// When the server did not name it.
    pub fn service(&self, name: &str) -> Result<MoRef> {
        self.content
            .child(name)
            .and_then(MoRef::from_el)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("the server offers no {name}"),
                )
            })
    }

    /// Whether the server is a standalone ESXi host (`apiType` `HostAgent`).
    pub fn is_esx(&self) -> bool {
        self.content
            .child("about")
            .and_then(|a| a.text_of("apiType"))
            == Some("HostAgent")
    }

    /// Calls `method` on `this` and returns the `returnval` element (an empty one for void
    /// methods).
    ///
    /// # Errors
    /// [`fault_error`] for a SOAP fault; I/O errors.
    pub fn call(&self, method: &str, this: &MoRef, args: &str) -> Result<El> {
        match self.call_raw(method, this, args)? {
            Ok(r) => Ok(r),
            Err(f) => Err(fault_error(method, &f)),
        }
    }

    /// As [`Session::call`], the fault returned for the caller to judge.
    ///
    /// # Errors
    /// I/O errors and answers that are not SOAP.
    pub fn call_raw(
        &self,
        method: &str,
        this: &MoRef,
        args: &str,
    ) -> Result<std::result::Result<El, Fault>> {
        // The method and object only: arguments can hold the password (Login).
        tracing::debug!(method, object = %this.value, "vSphere call");
        let url = format!("{}/sdk", self.base);
        let mut req = self
            .http
            .agent()
            .post(&url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", format!("urn:vim25/{API_VERSION}"));
        if let Some(c) = self.cookie.lock().ok().and_then(|c| c.clone()) {
            req = req.header("Cookie", c);
        }
        let mut resp = req
            .send(body(method, this, args))
            .map_err(|e| self.http.error(&format!("{method} ({})", self.base), e))?;
        if let Some(c) = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("vmware_soap_session="))
        {
            let pair = c.split(';').next().unwrap_or(c).to_string();
            if let Ok(mut slot) = self.cookie.lock() {
                *slot = Some(pair);
            }
        }
        let status = resp.status();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| self.http.error(&format!("{method}: reading the answer"), e))?;
        let doc = xml::parse(&text).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("{method}: the server answered {status} with no SOAP message"),
            )
            .with_source(e)
        })?;
        let body = doc.child("Body").ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!("{method}: SOAP answer without a Body"),
            )
        })?;
        if let Some(f) = body.child("Fault") {
            let detail_kind = f
                .child("detail")
                .and_then(|d| d.children.first())
                .map(|d| {
                    d.xsi_type()
                        .unwrap_or(d.local())
                        .trim_end_matches("Fault")
                        .to_string()
                })
                .unwrap_or_default();
            return Ok(Err(Fault {
                kind: detail_kind,
                message: f.text_of("faultstring").unwrap_or("").to_string(),
            }));
        }
        let resp_el = body.children.first().cloned().unwrap_or_default();
        Ok(Ok(resp_el.child("returnval").cloned().unwrap_or_default()))
    }

    /// `SessionManager.Login`. The password goes into the request body only.
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] for a wrong user name or password.
    pub fn login(&self, user: &str, password: &str) -> Result<()> {
        let sm = self.service("sessionManager")?;
        let args = format!("{}{}", el("userName", user), el("password", password));
        match self.call_raw("Login", &sm, &args)? {
            Ok(_) => Ok(()),
            Err(f) if f.kind == "InvalidLogin" => Err(Error::usage(format!(
                "cannot log in to {} as {user:?}: wrong user name or password",
                self.base
            ))),
            Err(f) => Err(fault_error("Login", &f)),
        }
    }

    /// `SessionManager.Logout` (errors ignored: the session expires anyway).
    pub fn logout(&self) {
        if let Ok(sm) = self.service("sessionManager") {
            let _ = self.call_raw("Logout", &sm, "");
        }
    }

    /// `SearchIndex.FindByInventoryPath`.
    ///
    /// # Errors
    /// I/O errors and faults.
    pub fn find_by_path(&self, path: &str) -> Result<Option<MoRef>> {
        let si = self.service("searchIndex")?;
        let r = self.call("FindByInventoryPath", &si, &el("inventoryPath", path))?;
        Ok(MoRef::from_el(&r))
    }

    /// `PropertyCollector.RetrievePropertiesEx` of `props` on one object: `(name, value)`.
    ///
    /// # Errors
    /// I/O errors and faults.
    pub fn properties(&self, obj: &MoRef, props: &[&str]) -> Result<Vec<(String, El)>> {
        let pc = self.service("propertyCollector")?;
        let paths: String = props.iter().map(|p| el("pathSet", p)).collect();
        let args = format!(
            "<specSet><propSet>{}{paths}</propSet><objectSet>{}</objectSet></specSet><options/>",
            el("type", &obj.kind),
            obj.xml("obj"),
        );
        let r = self.call("RetrievePropertiesEx", &pc, &args)?;
        let mut out = Vec::new();
        for o in r.all("objects") {
            for p in o.all("propSet") {
                if let (Some(n), Some(v)) = (p.text_of("name"), p.child("val")) {
                    out.push((n.to_string(), v.clone()));
                }
            }
        }
        Ok(out)
    }

    /// One property's value element.
    ///
    /// # Errors
    /// I/O errors and faults.
    pub fn property(&self, obj: &MoRef, prop: &str) -> Result<Option<El>> {
        Ok(self
            .properties(obj, &[prop])?
            .into_iter()
            .find(|(n, _)| n == prop)
            .map(|(_, v)| v))
    }

    /// A property holding a list of references (`childEntity`, `datastore`, `network`).
    ///
    /// # Errors
    /// I/O errors and faults.
    pub fn refs(&self, obj: &MoRef, prop: &str) -> Result<Vec<MoRef>> {
        Ok(self
            .property(obj, prop)?
            .map(|v| {
                let mut list: Vec<MoRef> = v.children.iter().filter_map(MoRef::from_el).collect();
                if list.is_empty() {
                    list.extend(MoRef::from_el(&v));
                }
                list
            })
            .unwrap_or_default())
    }

    /// An object's `name`.
    ///
    /// # Errors
    /// I/O errors and faults.
    pub fn name(&self, obj: &MoRef) -> Result<String> {
        Ok(self
            .property(obj, "name")?
            .map(|v| v.text.trim().to_string())
            .unwrap_or_default())
    }

    /// Waits for a task to finish.
    ///
    /// # Errors
    /// The task's fault as an error.
    pub fn wait_task(&self, task: &MoRef, what: &str) -> Result<Option<El>> {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let mut delay = Duration::from_millis(50);
        loop {
            let info = self.property(task, "info")?.unwrap_or_default();
            match info.text_of("state") {
                Some("success") => return Ok(info.child("result").cloned()),
                Some("error") => {
                    let msg = info
                        .child("error")
                        .and_then(|e| e.text_of("localizedMessage"))
                        .unwrap_or("failed");
                    return Err(Error::new(ErrorKind::Io, format!("{what}: {msg}")));
                }
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(Error::new(ErrorKind::Io, format!("{what}: timed out")));
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Uploads `len` bytes (or, when `None`, a chunked stream) from `src` to a lease device URL
    /// (`https://*/nfc/...`: `*` becomes this server's host:port), as ovftool does: `POST` of a
    /// streamOptimized VMDK for a disk, `PUT` of the bytes for other files (ISO images).
    ///
    /// # Errors
    /// I/O errors, a status other than 2xx.
    pub fn upload(
        &self,
        device_url: &str,
        disk: bool,
        len: Option<u64>,
        src: &mut dyn Read,
    ) -> Result<()> {
        let url = self.device_url(device_url);
        let req = if disk {
            self.http
                .agent()
                .post(&url)
                .header("Content-Type", "application/x-vnd.vmware-streamVmdk")
        } else {
            self.http
                .agent()
                .put(&url)
                .header("Content-Type", "application/octet-stream")
        };
        let mut req = req.header("Overwrite", "t");
        if let Some(n) = len {
            req = req.header("Content-Length", n.to_string());
        }
        if let Some(c) = self.cookie.lock().ok().and_then(|c| c.clone()) {
            req = req.header("Cookie", c);
        }
        let resp = req
            .send(ureq::SendBody::from_reader(src))
            .map_err(|e| self.http.error("disk upload", e))?;
        if !resp.status().is_success() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("disk upload: the server answered {}", resp.status()),
            ));
        }
        Ok(())
    }

    /// A lease device URL with its `*` host replaced by the server's host:port.
    pub fn device_url(&self, device_url: &str) -> String {
        let Some((_, rest)) = device_url.split_once("://") else {
            return device_url.to_string();
        };
        let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        let host = &rest[..rest.len() - path.len()];
        if host == "*" || host.starts_with("*:") {
            format!("{}{path}", self.base)
        } else {
            device_url.to_string()
        }
    }
}

/// A SOAP fault as our error: a bad request (`InvalidArgument`, `NotFound`) is a usage error,
/// the rest an I/O failure of the remote side.
pub fn fault_error(method: &str, f: &Fault) -> Error {
    let kind = match f.kind.as_str() {
        "InvalidLogin"
        | "NoPermission"
        | "NotAuthenticated"
        | "InvalidArgument"
        | "NotFound"
        | "ManagedObjectNotFound"
        | "InvalidName"
        | "DuplicateName" => ErrorKind::Usage,
        _ => ErrorKind::Io,
    };
    let name = if f.kind.is_empty() { "fault" } else { &f.kind };
    let msg = f.message.trim();
    if msg.is_empty() {
        Error::new(kind, format!("{method}: the server answered {name}"))
    } else {
        Error::new(kind, format!("{method}: {name}: {msg}"))
    }
}
