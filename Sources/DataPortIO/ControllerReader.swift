import DataPortModel
import Foundation

extension JSONObjectReader {
    /// The `controller` member as the stores config and the manifest both hold it: name, contact,
    /// optional address, `dpo` and `supervisoryAuthority`; unknown members refused. Errors are of
    /// the reader's kind (`invalidConfig` or `invalidBundle`).
    package func controller() throws -> Controller {
        let c = try object("controller")
        var controller = Controller(name: try c.string("name"), contact: try c.string("contact"),
                                    address: try c.optionalString("address"), dpoContact: try c.optionalString("dpo"))
        if let a = try c.optionalObject("supervisoryAuthority") {
            controller.supervisoryAuthority = SupervisoryAuthority(name: try a.string("name"), address: try a.optionalString("address"),
                                                                   website: try a.optionalString("website"))
            try a.finish()
        }
        try c.finish()
        return controller
    }
}
