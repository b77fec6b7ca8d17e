"""Conformance: exoscale's `cs` client (PyPI) against the reference server.

`cs` signs requests its own way (sorted names, `quote(safe="*")`, signatureVersion 3 with
`expires`) and polls with `fetch_result=True`; a server that verifies signatures exactly like
CloudStack must accept it. ./dev test runs this with JOBWIRE_SERVER_BIN set.
"""

import os
import re
import subprocess
import unittest

from cs import CloudStack, CloudStackApiException

ZONE = "a1f2c3d4-0000-4000-8000-000000000001"
SMALL = "b1f2c3d4-0000-4000-8000-000000000001"
HUGE = "b1f2c3d4-0000-4000-8000-000000000003"
TEMPLATE = "c1f2c3d4-0000-4000-8000-000000000001"
API_KEY = "demo-api-key-0123456789abcdef"
SECRET_KEY = "demo-secret-key-do-not-use-in-production"


class CsConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ["JOBWIRE_SERVER_BIN"]
        cls.server = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--dist", os.environ.get("JOBWIRE_DIST", "dist"), "--job-duration-ms", "600"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for line in cls.server.stdout:
            match = re.search(r"listening on (http://[^\s/]+)/", line)
            if match:
                cls.endpoint = match.group(1) + "/client/api"
                break
        else:
            raise RuntimeError("server did not start")

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def client(self, secret=SECRET_KEY, **options):
        return CloudStack(endpoint=self.endpoint, key=API_KEY, secret=secret, poll_interval=0.2, **options)

    def test_deploy_with_fetch_result_sees_the_running_vm(self):
        for method in ("get", "post"):
            with self.subTest(method=method):
                result = self.client(method=method).deployVirtualMachine(
                    zoneid=ZONE, serviceofferingid=SMALL, templateid=TEMPLATE, name=f"cs-{method}", fetch_result=True
                )
                vm = result["virtualmachine"]
                self.assertEqual(vm["name"], f"cs-{method}")
                self.assertEqual(vm["state"], "Running")
                listed = self.client().listVirtualMachines(id=vm["id"])
                self.assertEqual(listed["count"], 1)

    def test_failed_job_raises_with_the_servers_reason(self):
        with self.assertRaises(CloudStackApiException) as caught:
            self.client().deployVirtualMachine(zoneid=ZONE, serviceofferingid=HUGE, templateid=TEMPLATE, fetch_result=True)
        self.assertEqual(caught.exception.error["errorcode"], 533)

    def test_bad_signature_gets_cloudstacks_401(self):
        with self.assertRaises(CloudStackApiException) as caught:
            self.client(secret="not-the-secret").listZones()
        self.assertEqual(caught.exception.error["errorcode"], 401)
        self.assertEqual(
            caught.exception.error["errortext"], "unable to verify user credentials and/or request signature"
        )

    def test_unicode_and_spaces_in_values_are_signed_alike(self):
        result = self.client().deployVirtualMachine(
            zoneid=ZONE, serviceofferingid=SMALL, templateid=TEMPLATE, displayname="web server é*", fetch_result=True
        )
        self.assertEqual(result["virtualmachine"]["displayname"], "web server é*")

    def test_async_job_listing(self):
        client = self.client()
        submitted = client.deployVirtualMachine(zoneid=ZONE, serviceofferingid=SMALL, templateid=TEMPLATE)
        status = client.queryAsyncJobResult(jobid=submitted["jobid"])
        self.assertIn(status["jobstatus"], (0, 1))
        jobs = client.listAsyncJobs()["asyncjobs"]
        self.assertIn(submitted["jobid"], [job["jobid"] for job in jobs])


if __name__ == "__main__":
    unittest.main(verbosity=2)
